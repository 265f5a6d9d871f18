"""The dependency rule and what the package ships."""
