//! A drawn frame (a ratatui `Buffer`) → SVG, plain text or ANSI: what screenshots are made
//! of; a sequence of frames → an animated SVG or an asciicast.

pub mod animate;
pub mod cast;
pub mod palette;
pub mod svg;
pub mod text;
