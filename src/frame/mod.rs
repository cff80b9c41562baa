//! A drawn frame (a ratatui `Buffer`) → SVG, plain text or ANSI: what screenshots are made of.

pub mod palette;
pub mod svg;
pub mod text;
