//! Output: aligned tables and `key: value` blocks for people, pretty JSON for programs.

use std::io::Write;

use serde::Serialize;

use crate::error::Error;

/// Prints `msg` as pretty JSON with `--json`, else what `render` makes of it.
pub fn emit<T: Serialize>(
    json: bool,
    msg: &T,
    render: impl FnOnce(&T) -> String,
) -> Result<(), Error> {
    let text = if json {
        serde_json::to_string_pretty(msg)?
    } else {
        render(msg)
    };
    print(&text)
}

/// Writes `text` to stdout with exactly one trailing newline (nothing for empty text). A reader
/// that went away (`vsctl port list | head -1`) is not an error.
pub fn print(text: &str) -> Result<(), Error> {
    if text.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let result = out
        .write_all(text.trim_end_matches('\n').as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write(e.to_string())),
        _ => Ok(()),
    }
}

/// A header line and one row per object, columns aligned, separated by two spaces.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells print as `-`, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.headers.len(), "-".to_string());
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let headers: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        std::iter::once(&headers)
            .chain(&self.rows)
            .map(|row| render_line(row, &widths))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn render_line(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        let pad = width.saturating_sub(cell.chars().count());
        line.extend(std::iter::repeat_n(' ', pad));
    }
    line.trim_end().to_string()
}

/// `key: value` lines, for `show` commands.
#[derive(Default)]
pub struct Fields {
    lines: Vec<String>,
}

impl Fields {
    pub fn new() -> Self {
        Fields::default()
    }

    pub fn add(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        self.lines.push(format!("{key}: {value}"));
        self
    }

    /// Adds the field only when `value` is not empty.
    pub fn add_nonempty(&mut self, key: &str, value: &str) -> &mut Self {
        if !value.is_empty() {
            self.add(key, value);
        }
        self
    }

    pub fn render(&self) -> String {
        self.lines.join("\n")
    }
}

/// `-` for an empty string, the string otherwise.
pub fn or_dash(value: &str) -> String {
    if value.is_empty() {
        "-".to_string()
    } else {
        value.to_string()
    }
}

/// `-` for 0 (the protos' "none"), the number otherwise.
pub fn nonzero_or_dash(value: u32) -> String {
    if value == 0 {
        "-".to_string()
    } else {
        value.to_string()
    }
}

/// A list as `a,b,c`, or `-` when empty.
pub fn list<T: ToString>(items: &[T]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// Seconds as `1d 2h 3m 4s`, leaving out leading zero units.
pub fn duration(secs: u64) -> String {
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut rest = secs;
    let mut parts = Vec::new();
    for (size, unit) in units {
        let n = rest / size;
        rest %= size;
        if n > 0 || !parts.is_empty() || size == 1 {
            parts.push(format!("{n}{unit}"));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_without_trailing_spaces() {
        let mut t = Table::new(&["NAME", "VLAN", "PORTS"]);
        t.row(vec!["web".into(), "100".into(), "vm1,vm2".into()]);
        t.row(vec!["database".into(), "-".into(), "-".into()]);
        assert_eq!(
            t.render(),
            "NAME      VLAN  PORTS\n\
             web       100   vm1,vm2\n\
             database  -     -"
        );
    }

    #[test]
    fn empty_table_is_its_header() {
        assert_eq!(Table::new(&["NAME", "TYPE"]).render(), "NAME  TYPE");
    }

    #[test]
    fn short_rows_are_padded_with_dashes() {
        let mut t = Table::new(&["A", "B"]);
        t.row(vec!["x".into()]);
        assert_eq!(t.render(), "A  B\nx  -");
    }

    #[test]
    fn fields_render_key_value_lines_and_skip_empty_ones() {
        let mut f = Fields::new();
        f.add("name", "p0")
            .add_nonempty("path", "")
            .add("mtu", 1500);
        assert_eq!(f.render(), "name: p0\nmtu: 1500");
    }

    #[test]
    fn helpers_print_none_as_dash() {
        assert_eq!(or_dash(""), "-");
        assert_eq!(nonzero_or_dash(0), "-");
        assert_eq!(nonzero_or_dash(7), "7");
        assert_eq!(list::<u32>(&[]), "-");
        assert_eq!(list(&[10, 20]), "10,20");
    }

    #[test]
    fn durations_drop_leading_zero_units() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(3_723), "1h 2m 3s");
        assert_eq!(duration(86_400), "1d 0h 0m 0s");
    }
}
