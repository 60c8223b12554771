"""What a deployment is made of: the pinned stack (`pins`: requirements/gpu.lock and every file that names one of
its five versions) and the KubeRay manifests rendered from conf/ (`manifests`)."""
