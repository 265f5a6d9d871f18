"""Hardware in the loop: the firmware built with avr-gcc and run in simavr."""
