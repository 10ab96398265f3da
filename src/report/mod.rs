//! A self-contained HTML report with inline SVG plots.
