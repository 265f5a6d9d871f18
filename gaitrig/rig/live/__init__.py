"""The rig while a patient stands in it: the controller, trials, steps, alarms, the live message."""
