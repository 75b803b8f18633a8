//! Tables of cells printed as Open vSwitch's `lib/table.c` prints them:
//! aligned text, lists, HTML, CSV or JSON (`--format`), cells holding OVSDB
//! data shown in the `ovs-vsctl` notation, bare, or as JSON (`--data`).
//!
//! Tables after the first are preceded by a blank line (except in HTML),
//! which is why printing goes through a [`Printer`] that remembers whether
//! it printed one already.

use std::fmt::Write as _;

use ovsdb::types::Type;

use crate::data;
use crate::ovs_json::{self, Json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    List,
    Html,
    Csv,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellFormat {
    String,
    Bare,
    Json,
}

/// `struct table_style`: what `--format`, `--data`, `--no-headings`,
/// `--pretty`, `--bare` and `--max-column-width` chose.
#[derive(Clone, Debug)]
pub struct Style {
    pub format: Format,
    pub cell_format: CellFormat,
    pub headings: bool,
    /// Flags for JSON printed outside cells ([`ovs_json::SORT`] always).
    pub json_flags: u32,
    /// For `--format=table`: cells are cut to this width (0: no limit).
    pub max_column_width: usize,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            format: Format::Table,
            cell_format: CellFormat::String,
            headings: true,
            json_flags: ovs_json::SORT,
            max_column_width: 0,
        }
    }
}

impl Style {
    /// Applies one of the table options; `Ok(false)` if `name` is not one.
    pub fn apply_option(&mut self, name: &str, value: Option<&str>) -> Result<bool, String> {
        match name {
            "format" => {
                self.format = match value.unwrap_or("") {
                    "table" => Format::Table,
                    "list" => Format::List,
                    "html" => Format::Html,
                    "csv" => Format::Csv,
                    "json" => Format::Json,
                    other => return Err(format!("unknown output format \"{other}\"")),
                }
            }
            "data" => {
                self.cell_format = match value.unwrap_or("") {
                    "string" => CellFormat::String,
                    "bare" => CellFormat::Bare,
                    "json" => CellFormat::Json,
                    other => return Err(format!("unknown data format \"{other}\"")),
                }
            }
            "no-headings" => self.headings = false,
            "pretty" => self.json_flags |= ovs_json::PRETTY,
            "bare" => {
                self.format = Format::List;
                self.cell_format = CellFormat::Bare;
                self.headings = false;
            }
            "max-column-width" => self.max_column_width = atoi(value.unwrap_or("")).max(0) as usize,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// C's `atoi`: leading blanks, a sign, digits; anything else ends it.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| n.saturating_mul(10).saturating_add((d - b'0') as i64));
    if neg { -n } else { n }
}

/// One cell: literal text, or OVSDB data (JSON, with its column type when
/// known) formatted by the style.
#[derive(Clone, Debug)]
pub enum Cell {
    Empty,
    Text(String),
    Data(Json, Option<Box<Type>>),
}

impl Cell {
    fn to_text(&self, style: &Style) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Data(json, None) => json.to_text(ovs_json::SORT),
            Cell::Data(json, Some(ty)) => {
                if style.cell_format == CellFormat::Json {
                    return json.to_text(ovs_json::SORT);
                }
                match data::datum_from_json(ty, json) {
                    Ok(datum) if style.cell_format == CellFormat::String => ovsdb::display::datum_to_string(&datum, ty),
                    Ok(datum) => data::datum_to_bare(&datum, ty),
                    Err(_) => json.to_text(ovs_json::SORT),
                }
            }
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Cell::Empty => Json::Null,
            Cell::Text(t) => Json::string(t.clone()),
            Cell::Data(json, _) => json.clone(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    pub caption: Option<String>,
    /// Print the time above the table (`--timestamp`).
    pub timestamp: bool,
    pub headings: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(headings: impl IntoIterator<Item = impl Into<String>>) -> Table {
        Table {
            headings: headings.into_iter().map(Into::into).collect(),
            ..Table::default()
        }
    }

    /// Adds a row; missing cells at the end are empty.
    pub fn add_row(&mut self, mut cells: Vec<Cell>) {
        cells.resize(self.headings.len(), Cell::Empty);
        self.rows.push(cells);
    }
}

/// Prints tables in one style, remembering whether one was printed
/// already (tables after the first start with a blank line).
pub struct Printer {
    pub style: Style,
    first: bool,
}

impl Printer {
    pub fn new(style: Style) -> Printer {
        Printer { style, first: true }
    }

    /// The text of `table`; the caller writes it to stdout.
    pub fn format(&mut self, table: &Table) -> String {
        let mut s = String::new();
        match self.style.format {
            Format::Table => self.format_table(table, &mut s),
            Format::List => self.format_list(table, &mut s),
            Format::Html => self.format_html(table, &mut s),
            Format::Csv => self.format_csv(table, &mut s),
            Format::Json => self.format_json(table, &mut s),
        }
        s
    }

    fn separator(&mut self, s: &mut String) {
        if self.first {
            self.first = false;
        } else {
            s.push('\n');
        }
    }

    fn preamble(&mut self, table: &Table, s: &mut String) {
        self.separator(s);
        if table.timestamp {
            s.push_str(&timestamp_now());
            s.push('\n');
        }
        if let Some(c) = &table.caption {
            s.push_str(c);
            s.push('\n');
        }
    }

    fn texts(&self, table: &Table) -> Vec<Vec<String>> {
        table
            .rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_text(&self.style)).collect())
            .collect()
    }

    fn format_table(&mut self, table: &Table, s: &mut String) {
        self.preamble(table, s);
        let texts = self.texts(table);
        let widths: Vec<usize> = (0..table.headings.len())
            .map(|x| {
                let mut w = texts.iter().map(|r| r[x].len()).max().unwrap_or(0);
                let max = self.style.max_column_width;
                if max > 0 && w > max {
                    w = max;
                }
                if self.style.headings {
                    w = w.max(table.headings[x].len());
                }
                w
            })
            .collect();
        if self.style.headings {
            for (x, h) in table.headings.iter().enumerate() {
                if x > 0 {
                    s.push(' ');
                }
                pad(s, h, widths[x], false);
            }
            finish_line(s);
            for (x, w) in widths.iter().enumerate() {
                if x > 0 {
                    s.push(' ');
                }
                s.extend(std::iter::repeat_n('-', *w));
            }
            finish_line(s);
        }
        for row in &texts {
            for (x, text) in row.iter().enumerate() {
                if x > 0 {
                    s.push(' ');
                }
                pad(s, text, widths[x], true);
            }
            finish_line(s);
        }
    }

    fn format_list(&mut self, table: &Table, s: &mut String) {
        self.preamble(table, s);
        for (y, row) in self.texts(table).iter().enumerate() {
            if y > 0 {
                s.push('\n');
            }
            for (x, text) in row.iter().enumerate() {
                if self.style.headings {
                    let _ = write!(s, "{:<20}: ", table.headings[x]);
                }
                s.push_str(text);
                s.push('\n');
            }
        }
    }

    fn format_html(&mut self, table: &Table, s: &mut String) {
        // HTML tables are not separated by blank lines.
        if table.timestamp {
            s.push_str(&timestamp_now());
            s.push('\n');
        }
        s.push_str("<table border=1>\n");
        if let Some(c) = &table.caption {
            html_cell("caption", c, s);
        }
        if self.style.headings {
            s.push_str("  <tr>\n");
            for h in &table.headings {
                html_cell("th", h, s);
            }
            s.push_str("  </tr>\n");
        }
        for row in self.texts(table) {
            s.push_str("  <tr>\n");
            for (x, text) in row.iter().enumerate() {
                if table.headings[x] == "_uuid" {
                    s.push_str("    <td><a name=\"");
                    html_escape(text.as_bytes(), s);
                    s.push_str("\">");
                    html_escape(&text.as_bytes()[..text.len().min(8)], s);
                    s.push_str("</a></td>\n");
                } else {
                    html_cell("td", text, s);
                }
            }
            s.push_str("  </tr>\n");
        }
        s.push_str("</table>\n");
    }

    fn format_csv(&mut self, table: &Table, s: &mut String) {
        self.preamble(table, s);
        if self.style.headings {
            for (x, h) in table.headings.iter().enumerate() {
                if x > 0 {
                    s.push(',');
                }
                csv_cell(h, s);
            }
            s.push('\n');
        }
        for row in self.texts(table) {
            for (x, text) in row.iter().enumerate() {
                if x > 0 {
                    s.push(',');
                }
                csv_cell(text, s);
            }
            s.push('\n');
        }
    }

    fn format_json(&mut self, table: &Table, s: &mut String) {
        let mut json = Json::object();
        if let Some(c) = &table.caption {
            json.put("caption", Json::string(c.clone()));
        }
        if table.timestamp {
            json.put("time", Json::string(timestamp_now()));
        }
        json.put(
            "headings",
            Json::Array(table.headings.iter().map(|h| Json::string(h.clone())).collect()),
        );
        let data = table
            .rows
            .iter()
            .map(|r| Json::Array(r.iter().map(Cell::to_json).collect()))
            .collect();
        json.put("data", Json::Array(data));
        s.push_str(&json.to_text(self.style.json_flags));
        s.push('\n');
    }
}

/// `%-*s` (or `%-*.*s` when `truncate`): left-aligned in `width` bytes.
fn pad(s: &mut String, text: &str, width: usize, truncate: bool) {
    let text = if truncate && text.len() > width {
        truncate_bytes(text, width)
    } else {
        text
    };
    s.push_str(text);
    s.extend(std::iter::repeat_n(' ', width.saturating_sub(text.len())));
}

/// The longest prefix of at most `n` bytes that ends on a character
/// boundary (C cuts bytes; a cut character would not be valid text).
fn truncate_bytes(text: &str, n: usize) -> &str {
    let mut end = n.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn finish_line(s: &mut String) {
    while s.ends_with(' ') {
        s.pop();
    }
    s.push('\n');
}

fn html_escape(bytes: &[u8], s: &mut String) {
    let text = String::from_utf8_lossy(bytes);
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            c => s.push(c),
        }
    }
}

/// An HTML cell in which every UUID becomes a link to its row.
fn html_cell(element: &str, content: &str, s: &mut String) {
    let _ = write!(s, "    <{element}>");
    let mut rest = content;
    while !rest.is_empty() {
        if rest.len() >= 36 && rest.is_char_boundary(36) && ovsdb::Uuid::parse(&rest[..36]).is_some() {
            let _ = write!(s, "<a href=\"#{}\">{}</a>", &rest[..36], &rest[..8]);
            rest = &rest[36..];
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            let mut buf = [0u8; 4];
            html_escape(c.encode_utf8(&mut buf).as_bytes(), s);
            rest = &rest[c.len_utf8()..];
        }
    }
    let _ = writeln!(s, "</{element}>");
}

fn csv_cell(content: &str, s: &mut String) {
    if !content.contains(['\n', '"', ',']) {
        s.push_str(content);
    } else {
        s.push('"');
        s.push_str(&content.replace('"', "\"\""));
        s.push('"');
    }
}

/// Wall-clock time as the tables show it: `YYYY-MM-DD HH:MM:SS.mmm`, UTC.
pub fn timestamp_now() -> String {
    format_time(std::time::SystemTime::now())
}

/// `ms` since the epoch as `YYYY-MM-DD HH:MM:SS.mmm` in UTC.
pub fn format_time_ms(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    format_time(t)
}

fn format_time(t: std::time::SystemTime) -> String {
    // The daemons' log format is `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    let log = daemon::log::timestamp(t);
    log.trim_end_matches('Z').replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(["name", "value"]);
        t.caption = Some("T table".into());
        t.add_row(vec![Cell::Text("a".into()), Cell::Text("x,\"y\"".into())]);
        t.add_row(vec![Cell::Text("longer".into()), Cell::Empty]);
        t
    }

    #[test]
    fn formats() {
        let mut p = Printer::new(Style::default());
        assert_eq!(
            p.format(&sample()),
            "T table\nname   value\n------ -----\na      x,\"y\"\nlonger\n"
        );
        assert_eq!(p.format(&sample()).lines().next(), Some(""));
        let mut p = Printer::new(Style {
            format: Format::Csv,
            ..Style::default()
        });
        assert_eq!(p.format(&sample()), "T table\nname,value\na,\"x,\"\"y\"\"\"\nlonger,\n");
        let mut p = Printer::new(Style {
            format: Format::List,
            ..Style::default()
        });
        assert_eq!(
            p.format(&sample()),
            "T table\nname                : a\nvalue               : x,\"y\"\n\nname                : longer\nvalue               : \n"
        );
        let mut p = Printer::new(Style {
            format: Format::Json,
            ..Style::default()
        });
        assert_eq!(
            p.format(&sample()),
            "{\"caption\":\"T table\",\"data\":[[\"a\",\"x,\\\"y\\\"\"],[\"longer\",null]],\"headings\":[\"name\",\"value\"]}\n"
        );
    }

    #[test]
    fn times() {
        assert_eq!(format_time_ms(0), "1970-01-01 00:00:00.000");
        assert_eq!(format_time_ms(1_700_000_000_123), "2023-11-14 22:13:20.123");
        assert_eq!(format_time_ms(951_782_400_000), "2000-02-29 00:00:00.000");
    }
}
