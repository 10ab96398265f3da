//! Item calibration by marginal maximum likelihood.
