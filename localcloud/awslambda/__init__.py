"""Lambda: functions, layers and Invoke, with handlers running in worker processes."""
