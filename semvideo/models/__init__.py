"""Models: SAD, MAD, the twin priors and the Conditional Video Render pipeline."""
