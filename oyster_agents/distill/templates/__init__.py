"""Templates of the training rows: the reasoning shown to the student and the ChatML training template."""
