//! Bank health diagnostics: saturation of the frontier, contamination and drift.
