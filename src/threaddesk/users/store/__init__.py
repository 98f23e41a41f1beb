"""User store backends behind one interface."""
