"""Ray glue: the cluster connection and Ray Data stages on actor pools of engines."""
