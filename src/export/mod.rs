//! Tidy exports of abilities, items and exam steps for analysts.
