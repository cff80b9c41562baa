//! Frames in motion as one SVG: the first frame is drawn whole; every later frame is a
//! layer holding only the stretches of rows that changed since the frame before it, drawn
//! opaque over the layers beneath. A CSS animation keeps each layer hidden until its time
//! and visible from then to the end of the cycle, so at every moment the stack shows the
//! latest frame; at the end of a cycle every layer hides again and the first frame shows.
//! Viewers without CSS animation (rsvg-convert, editors) see every layer at once: the last
//! frame. Deterministic: the same frames at the same times give the same bytes.

use std::fmt::Write;
use std::str::FromStr;

use ratatui::buffer::Buffer;

use super::palette::Defaults;
use super::svg::{self, Segment};

/// How many times the animation plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loop {
    Infinite,
    Times(u32),
}

impl FromStr for Loop {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "infinite" | "inf" | "forever" => Ok(Loop::Infinite),
            n => match n.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(Loop::Times(n)),
                _ => Err(format!(
                    "invalid --loop `{s}`: expected `infinite` or a count of 1 or more"
                )),
            },
        }
    }
}

/// Unchanged cells between two changed stretches of a row that are drawn anyway rather
/// than starting a new stretch (each costs a background rect and a text element).
const JOIN_GAP: usize = 4;

fn at(b: &Buffer, x: usize, y: usize) -> &ratatui::buffer::Cell {
    &b[(b.area.x + x as u16, b.area.y + y as u16)]
}

fn cell_width(buf: &Buffer, x: usize, y: usize) -> usize {
    unicode_width::UnicodeWidthStr::width(at(buf, x, y).symbol())
}

/// The stretches of rows where `cur` differs from `prev` (same size), nearby stretches
/// joined, widened so that a wide character is never cut in half.
pub fn changed_segments(prev: &Buffer, cur: &Buffer) -> Vec<Segment> {
    let (cols, rows) = (cur.area.width as usize, cur.area.height as usize);
    let mut out = Vec::new();
    for y in 0..rows {
        let mut row: Vec<Segment> = Vec::new();
        let mut x = 0;
        while x < cols {
            if at(prev, x, y) == at(cur, x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < cols && at(prev, x, y) != at(cur, x, y) {
                x += 1;
            }
            match row.last_mut() {
                Some(last) if start - last.x1 <= JOIN_GAP => last.x1 = x,
                _ => row.push(Segment {
                    y,
                    x0: start,
                    x1: x,
                }),
            }
        }
        for seg in &mut row {
            // A cell covered by the wide character before it: start at that character.
            if seg.x0 > 0
                && (cell_width(cur, seg.x0 - 1, y) > 1 || cell_width(prev, seg.x0 - 1, y) > 1)
            {
                seg.x0 -= 1;
            }
            // A wide character at the end: take the cell it covers too.
            if seg.x1 < cols
                && (cell_width(cur, seg.x1 - 1, y) > 1 || cell_width(prev, seg.x1 - 1, y) > 1)
            {
                seg.x1 += 1;
            }
        }
        out.extend(row);
    }
    out
}

/// An animated SVG being built, frame by frame.
pub struct Animation {
    title: String,
    defaults: Defaults,
    size: Option<(usize, usize)>,
    body: String,
    /// When each layer after the first frame appears, in seconds.
    layers: Vec<f64>,
    prev: Option<Buffer>,
    frames: usize,
    /// The next id of a group drawn once and repeated.
    next_id: usize,
}

impl Animation {
    pub fn new(title: &str, defaults: Defaults) -> Self {
        Animation {
            title: title.to_string(),
            defaults,
            size: None,
            body: String::new(),
            layers: Vec::new(),
            prev: None,
            frames: 0,
            next_id: 0,
        }
    }

    /// Show `buf` from `at_s` seconds on (times must not go backwards; every frame the
    /// same size as the first). A frame identical to the one before adds nothing.
    pub fn frame(&mut self, buf: &Buffer, at_s: f64) {
        self.frames += 1;
        let d = self.defaults;
        match &self.prev {
            None => {
                self.size = Some((buf.area.width as usize, buf.area.height as usize));
                svg::draw_cells(&mut self.body, buf, &svg::whole_rows(buf), d, false);
            }
            Some(prev) if prev.area == buf.area => {
                let segments = changed_segments(prev, buf);
                if segments.is_empty() {
                    return;
                }
                let k = self.layers.len();
                self.layers.push(at_s);
                let _ = writeln!(self.body, r#"<g class="f" style="animation-name:k{k}">"#);
                self.draw_layer(buf, &segments);
                self.body.push_str("</g>\n");
            }
            // A frame of another size cannot be a layer: it is left out.
            Some(_) => return,
        }
        self.prev = Some(buf.clone());
    }

    /// Draw `segments` of `buf` opaque. A stretch whose cells repeat one drawn above it in
    /// this layer (a timeline lane is several identical rows) is drawn once in a group and
    /// repeated with `<use>`, moved down.
    fn draw_layer(&mut self, buf: &Buffer, segments: &[Segment]) {
        let same = |a: &Segment, b: &Segment| {
            a.x0 == b.x0 && a.x1 == b.x1 && (a.x0..a.x1).all(|x| at(buf, x, a.y) == at(buf, x, b.y))
        };
        // For each segment: the index of the first earlier one it repeats.
        let mut proto: Vec<Option<usize>> = Vec::with_capacity(segments.len());
        for (i, seg) in segments.iter().enumerate() {
            let first = (0..i).find(|&j| proto[j].is_none() && same(&segments[j], seg));
            proto.push(first);
        }
        let repeated: Vec<bool> = (0..segments.len())
            .map(|j| proto.contains(&Some(j)))
            .collect();
        let plain: Vec<Segment> = segments
            .iter()
            .enumerate()
            .filter(|&(i, _)| proto[i].is_none() && !repeated[i])
            .map(|(_, s)| *s)
            .collect();
        let d = self.defaults;
        svg::draw_cells(&mut self.body, buf, &plain, d, true);
        for (j, seg) in segments.iter().enumerate().filter(|&(j, _)| repeated[j]) {
            let id = self.next_id;
            self.next_id += 1;
            let _ = writeln!(self.body, r#"<g id="u{id}">"#);
            svg::draw_cells(&mut self.body, buf, &[*seg], d, true);
            self.body.push_str("</g>\n");
            for (i, copy) in segments.iter().enumerate() {
                if proto[i] == Some(j) {
                    let _ = writeln!(
                        self.body,
                        r##"<use href="#u{id}" y="{:.1}"/>"##,
                        svg::row_offset(copy.y - seg.y)
                    );
                }
            }
        }
    }

    /// Frames given so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Distinct pictures shown: the first frame and each layer.
    pub fn pictures(&self) -> usize {
        usize::from(self.prev.is_some()) + self.layers.len()
    }

    /// The document: a cycle of `cycle_s` seconds (at least the last layer's time), played
    /// `loops` times.
    pub fn finish(self, cycle_s: f64, loops: Loop) -> String {
        let (cols, rows) = self.size.unwrap_or((1, 1));
        let last = self.layers.last().copied().unwrap_or(0.0);
        let cycle = cycle_s.max(last).max(0.001);
        let count = match loops {
            Loop::Infinite => "infinite".to_string(),
            Loop::Times(n) => n.to_string(),
        };
        let mut css = String::new();
        let _ = write!(
            css,
            ".f{{animation-duration:{cycle:.3}s;animation-timing-function:steps(1,end);animation-iteration-count:{count};animation-fill-mode:forwards}}"
        );
        for (k, at) in self.layers.iter().enumerate() {
            let pct = (at / cycle * 100.0).clamp(0.0, 100.0);
            let _ = write!(
                css,
                "@keyframes k{k}{{0%{{visibility:hidden}}{pct:.4}%,100%{{visibility:visible}}}}"
            );
        }
        let mut s = svg::open(cols, rows, &self.title, self.defaults, &css);
        s.push_str(&self.body);
        s.push_str(svg::CLOSE);
        s
    }
}

/// Layers in an animated SVG written by [`Animation`]: its pictures are these plus the
/// first frame.
pub fn count_layers(svg: &str) -> usize {
    svg.matches(r#"<g class="f""#).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::palette;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    fn buf(lines: &[&str]) -> Buffer {
        let mut b = Buffer::empty(Rect::new(0, 0, 20, lines.len() as u16));
        for (y, l) in lines.iter().enumerate() {
            b.set_string(0, y as u16, l, Style::default().green());
        }
        b
    }

    #[test]
    fn only_the_changed_stretches_are_layered() {
        let a = buf(&["elapsed 0.1 s", "same row", "x         y"]);
        let b = buf(&["elapsed 0.2 s", "same row", "x         z"]);
        let segs = changed_segments(&a, &b);
        assert_eq!(
            segs,
            vec![
                Segment {
                    y: 0,
                    x0: 10,
                    x1: 11
                },
                Segment {
                    y: 2,
                    x0: 10,
                    x1: 11
                }
            ]
        );
        // Two changes four cells apart are one stretch.
        let c = buf(&["elapsed 0.2 s", "same row", "x    q    z"]);
        let d = buf(&["elapsed 0.2 s", "same row", "x    r    w"]);
        assert_eq!(
            changed_segments(&c, &d),
            vec![Segment {
                y: 2,
                x0: 5,
                x1: 11
            }]
        );
    }

    #[test]
    fn a_wide_character_is_never_cut() {
        let a = buf(&["ab日x"]);
        let b = buf(&["ab日y"]);
        // `x` sits after the wide character's covered cell: the stretch starts at `x`.
        assert_eq!(
            changed_segments(&a, &b),
            vec![Segment { y: 0, x0: 4, x1: 5 }]
        );
        let c = buf(&["ab日x"]);
        let d = buf(&["ab本x"]);
        let segs = changed_segments(&c, &d);
        assert_eq!(segs, vec![Segment { y: 0, x0: 2, x1: 4 }]);
    }

    #[test]
    fn frames_become_layers_with_keyframes() {
        let mut anim = Animation::new("t", palette::DARK);
        anim.frame(&buf(&["0"]), 0.0);
        anim.frame(&buf(&["1"]), 0.5);
        anim.frame(&buf(&["1"]), 1.0); // unchanged: no layer
        anim.frame(&buf(&["2"]), 1.5);
        assert_eq!((anim.frames(), anim.pictures()), (4, 3));
        let svg = anim.finish(2.0, Loop::Infinite);
        let doc = roxmltree::Document::parse(&svg).expect("valid XML");
        let layers: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("f"))
            .collect();
        assert_eq!(layers.len(), 2);
        assert_eq!(count_layers(&svg), 2);
        assert_eq!(layers[1].attribute("style"), Some("animation-name:k1"));
        let text: String = layers[1]
            .descendants()
            .filter(|n| n.is_element())
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(text.trim(), "2", "a layer holds only what changed");
        assert!(
            svg.contains("@keyframes k0{0%{visibility:hidden}25.0000%,100%{visibility:visible}}")
        );
        assert!(svg.contains("@keyframes k1{0%{visibility:hidden}75.0000%,100%"));
        assert!(svg.contains("animation-duration:2.000s"));
        assert!(svg.contains("animation-iteration-count:infinite"));
        // Layers are opaque: the default background is painted under the new text.
        assert!(
            layers[0]
                .children()
                .any(|n| n.attribute("fill") == Some(palette::hex(palette::DARK.bg).as_str()))
        );
    }

    #[test]
    fn loops_and_determinism() {
        let make = || {
            let mut a = Animation::new("t", palette::LIGHT);
            for i in 0..30 {
                a.frame(&buf(&[&format!("frame {i}")]), f64::from(i) * 0.1);
            }
            a.finish(4.0, Loop::Times(3))
        };
        let svg = make();
        assert_eq!(svg, make());
        assert!(svg.contains("animation-iteration-count:3"));
        assert_eq!(count_layers(&svg), 29);
        assert_eq!("infinite".parse::<Loop>(), Ok(Loop::Infinite));
        assert_eq!("2".parse::<Loop>(), Ok(Loop::Times(2)));
        assert!("0".parse::<Loop>().expect_err("zero").contains("--loop"));
        assert!("x".parse::<Loop>().is_err());
    }
}
