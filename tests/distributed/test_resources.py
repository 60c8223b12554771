"""Packing a phase's asks onto node types: what fits, and the one line that names what does not (no Ray)."""
from judge_ray.config import load_config
from judge_ray.distributed.resources import Bundle, NodeType, Phase, loop_phases, unschedulable

GPU_NODE = NodeType("gpu", 8, 1, 2)


def test_asks_that_fit_leave_a_cpu_for_ray_datas_tasks():
    phase = Phase("engine stages", (Bundle("a", 4, 1), Bundle("b", 4, 1)))
    assert unschedulable(phase, [NodeType("head", 0, 0, 1), GPU_NODE]) == []


def test_an_ask_wider_than_every_node_is_named_with_the_resource():
    (problem,) = unschedulable(Phase("training", (Bundle("train worker 1/1", 16, 1),)), [GPU_NODE])
    assert problem == ("training: train worker 1/1 asks 16 CPU + 1 GPU and no node has it free "
                       "(the cluster at its largest: 2 x gpu (8 CPU + 1 GPU))")
    (problem,) = unschedulable(Phase("engine stages", (Bundle("engine actor", 1, 1),)), [NodeType("cpu", 4, 0, 3)])
    assert "1 CPU + 1 GPU" in problem and "3 x cpu (4 CPU)" in problem


def test_actors_that_hold_every_cpu_starve_the_data_tasks():
    (problem,) = unschedulable(Phase("training", (Bundle("w", 8, 1), Bundle("w", 8, 1))), [GPU_NODE])
    assert "16 CPUs held by its actors leave 0 for Ray Data's tasks, which need 1" in problem
    assert unschedulable(Phase("serve", (Bundle("w", 8, 1),) * 2, task_cpus=0), [GPU_NODE]) == []


def test_packing_puts_the_gpu_asks_first_so_cpu_asks_do_not_take_their_node():
    # first fit in the given order would put the CPU ask on the GPU node's CPUs and leave the GPU ask nowhere
    phase = Phase("p", (Bundle("cpu ask", 4), Bundle("gpu ask", 4, 1)), task_cpus=0)
    assert unschedulable(phase, [NodeType("gpu", 4, 1, 1), NodeType("cpu", 4, 0, 1)]) == []


def test_on_the_2_cpu_cluster_of_ray_start_the_engine_actors_give_way_to_ray_datas_own():
    """`ray start --head` here offers 2 CPUs. A resumed engine stage holds Ray Data's checkpoint filter (1 CPU)
    and needs a CPU for its tasks: the engine actor must ask none (the hang of a resubmitted job)."""
    from judge_ray.distributed.resources import cpu_scale_to_fit, engine_phase

    node = [NodeType("head", 2, 0, 1)]
    cfg = load_config(None, ["model=tiny", "ray.actor_cpus=1"])
    engine, training = [unschedulable(ph, node) for ph in loop_phases(cfg)]
    assert len(engine) == 1 and engine[0].startswith("engine stages:") and "leave 0 for Ray Data's tasks" in engine[0]
    assert len(training) == 1 and "leave 0" in training[0]  # two 1-CPU train workers, too
    assert cpu_scale_to_fit(engine_phase(cfg.ray), node) == 0.0
    assert cpu_scale_to_fit(engine_phase(cfg.ray), [NodeType("head", 3, 0, 1)]) == 1.0
    assert cpu_scale_to_fit(engine_phase(cfg.ray), [NodeType("head", 1, 0, 1)]) is None  # Ray Data's own: no room


def test_cpu_asks_shrink_to_what_a_small_cluster_offers_and_gpu_asks_never_do():
    from judge_ray.distributed.resources import cpu_scale_to_fit, scaled

    node = [NodeType("head", 2, 0, 1)]
    engine = Phase("engine stages", (Bundle("engine actor", 2),))
    assert cpu_scale_to_fit(Phase("p", (Bundle("a", 1),)), node) == 1.0
    factor = cpu_scale_to_fit(engine, node)
    assert 0.49 <= factor <= 0.5 and unschedulable(scaled(engine, factor), node) == []
    training = Phase("training", (Bundle("w", 1), Bundle("w", 1)))  # 2 workers + Ray Data's task on 2 CPUs
    assert 0.49 <= cpu_scale_to_fit(training, node) <= 0.5
    assert cpu_scale_to_fit(Phase("g", (Bundle("gpu actor", 1, 1),)), node) is None
    assert cpu_scale_to_fit(Phase("p", (Bundle("a", 1),)), [NodeType("head", 1, 0, 1)]) == 0.0  # down to none
    fixed = Phase("p", (Bundle("Ray Data's actor", 1, fixed=True),))
    assert cpu_scale_to_fit(fixed, [NodeType("head", 1, 0, 1)]) is None  # the task's CPU, and not ours to scale
