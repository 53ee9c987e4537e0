"""The run lock (`lock`); it moves next to the store it guards."""
