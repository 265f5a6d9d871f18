"""Recording file formats (public gait datasets) read into loads and events."""
