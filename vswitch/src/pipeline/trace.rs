//! A packet's trace: what each stage decided about one packet, in the operator's words. A
//! stage writes a note when its context carries a trace ([`Context::trace`](super::Context)),
//! which only a traced packet's does: an untraced packet pays one branch per note site.
//!
//! Notes are fixed-size text, written without allocating, so a worker can trace a live packet.
//! A simulated trace (`dry_run`) runs a described packet through the same stages, which then
//! read their tables but change none of them (no learning, no new connection or binding).

use std::cell::RefCell;
use std::fmt::{self, Write};

/// Writes a stage's note about the packet `$ctx` (a [`Context`](super::Context)) decides
/// about, when it is traced; the arguments are not even evaluated for any other packet.
///
/// ```ignore
/// note!(ctx, "router", "no route to {}", dst);
/// ```
#[macro_export]
macro_rules! note {
    ($ctx:expr, $stage:literal, $($fmt:tt)+) => {
        if let Some(t) = $ctx.trace {
            t.note($stage, format_args!($($fmt)+));
        }
    };
}

/// Notes one trace keeps; a longer path keeps its first ones and says it was cut.
pub const NOTES: usize = 24;
/// Bytes of text one note keeps.
pub const NOTE_LEN: usize = 160;

/// One stage's decision.
#[derive(Clone, Copy)]
pub struct Note {
    pub stage: &'static str,
    len: u8,
    text: [u8; NOTE_LEN],
}

impl Note {
    const EMPTY: Note = Note {
        stage: "",
        len: 0,
        text: [0; NOTE_LEN],
    };

    pub fn text(&self) -> &str {
        // Only whole characters are written (see `Write for Note`).
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl Write for Note {
    /// Keeps what fits, cut at a character boundary.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let at = usize::from(self.len);
        let mut take = s.len().min(NOTE_LEN - at);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.text[at..at + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take as u8;
        Ok(())
    }
}

/// The notes of one packet, in the order the stages wrote them.
#[derive(Clone)]
pub struct Trail {
    notes: [Note; NOTES],
    len: usize,
    /// More notes were written than a trail keeps.
    pub cut: bool,
}

impl Default for Trail {
    fn default() -> Self {
        Trail {
            notes: [Note::EMPTY; NOTES],
            len: 0,
            cut: false,
        }
    }
}

impl Trail {
    pub fn notes(&self) -> &[Note] {
        &self.notes[..self.len]
    }

    fn push(&mut self, stage: &'static str, what: fmt::Arguments<'_>) {
        let Some(note) = self.notes.get_mut(self.len) else {
            self.cut = true;
            return;
        };
        *note = Note::EMPTY;
        note.stage = stage;
        let _ = note.write_fmt(what);
        self.len += 1;
    }
}

/// A packet being traced: the stages write their notes into it.
pub struct Trace {
    trail: RefCell<Trail>,
    dry_run: bool,
    /// Which packet of its burst is traced.
    packet: usize,
}

impl Trace {
    /// The trace of packet `packet` of a real burst: the stages do what they always do, and say
    /// so.
    pub fn live(packet: usize) -> Trace {
        Trace {
            trail: RefCell::default(),
            dry_run: false,
            packet,
        }
    }

    /// A described packet's trace (a burst of one): the stages decide but change no table.
    pub fn simulated() -> Trace {
        Trace {
            trail: RefCell::default(),
            dry_run: true,
            packet: 0,
        }
    }

    /// Which packet of its burst is traced.
    #[inline]
    pub fn packet(&self) -> usize {
        self.packet
    }

    /// Nothing a stage learns from this packet may be kept.
    #[inline]
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Adds `stage`'s note.
    pub fn note(&self, stage: &'static str, what: fmt::Arguments<'_>) {
        if let Ok(mut trail) = self.trail.try_borrow_mut() {
            trail.push(stage, what);
        }
    }

    pub fn into_trail(self) -> Trail {
        self.trail.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_keep_their_order_and_a_long_path_says_it_was_cut() {
        let t = Trace::live(0);
        for i in 0..NOTES + 2 {
            t.note("stage", format_args!("step {i}"));
        }
        let trail = t.into_trail();
        assert_eq!(trail.notes().len(), NOTES);
        assert_eq!(trail.notes()[3].text(), "step 3");
        assert!(trail.cut);
    }

    #[test]
    fn a_long_note_is_cut_at_a_character_boundary() {
        let t = Trace::simulated();
        let long = "é".repeat(NOTE_LEN);
        t.note("bridge", format_args!("{long}"));
        let trail = t.into_trail();
        let text = trail.notes()[0].text();
        assert_eq!(text.len(), NOTE_LEN);
        assert!(text.chars().all(|c| c == 'é'));
        assert!(Trace::simulated().dry_run() && !Trace::live(0).dry_run());
    }
}
