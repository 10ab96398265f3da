//! Ability estimation given item parameters.
