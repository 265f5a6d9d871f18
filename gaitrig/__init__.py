"""gaitrig: the controller of an instrumented gait-training rig (docs/architecture.md).

Floors, top to bottom: cli -> web_ui -> rig -> sim -> {drivers, processing, io, db}.
"""
