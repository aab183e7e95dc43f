"""Data: the synthetic twin, CC2017 and HCP readers, preprocessing, and the prepared-data index."""
