//! Linking separate calibrations onto one scale.
