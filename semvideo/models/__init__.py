"""Models: SAD, MAD, the twin priors, the Conditional Video Render pipeline and the baselines (the flow readout,
the ridge latent decoder). The stages that train and run them on a run folder are :mod:`semvideo.stages`."""
