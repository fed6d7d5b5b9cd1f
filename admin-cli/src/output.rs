//! Rendering of command results: an aligned text table for humans, or one JSON document
//! for scripts (an array for lists, an object for single results; snake_case keys;
//! RFC 3339 timestamps in UTC).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

/// `--output`: how results are printed on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// A value that is shown as one row of a table.
pub trait TableRow {
    /// Column titles, in the order of [`TableRow::cells`].
    const HEADERS: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

/// A command that printed its results but did not fully succeed (e.g. an import with failed
/// rows): `stdout` is printed in full, then `message` is the error and the exit code is
/// non-zero.
#[derive(Debug)]
pub struct FailedAfterOutput {
    pub stdout: String,
    pub message: String,
}

impl std::fmt::Display for FailedAfterOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FailedAfterOutput {}

/// A list of results: a table with one row per item, or a JSON array.
pub fn render_list<T: TableRow + Serialize>(
    format: OutputFormat,
    items: &[T],
) -> anyhow::Result<String> {
    match format {
        OutputFormat::Table => Ok(render_table(
            T::HEADERS,
            &items.iter().map(TableRow::cells).collect::<Vec<_>>(),
        )),
        OutputFormat::Json => render_json(&items),
    }
}

/// A single result: a one-row table, or a JSON object.
pub fn render_one<T: TableRow + Serialize>(
    format: OutputFormat,
    item: &T,
) -> anyhow::Result<String> {
    match format {
        OutputFormat::Table => Ok(render_table(T::HEADERS, &[item.cells()])),
        OutputFormat::Json => render_json(item),
    }
}

/// Pretty-printed JSON followed by a newline.
pub fn render_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    let mut json = serde_json::to_string_pretty(value)?;
    json.push('\n');
    Ok(json)
}

/// Columns separated by two spaces, each as wide as its widest cell; no trailing blanks.
pub fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let header_cells: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| sanitize_cell(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header_cells.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header_cells).chain(rows.iter()) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let width = widths.get(index).copied().unwrap_or(0);
            line.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(cell.chars().count()),
            ));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Control characters (newlines, tabs, escapes) in directory data must not break the table
/// layout or reach the terminal raw.
fn sanitize_cell(cell: &str) -> String {
    if !cell.chars().any(char::is_control) {
        return cell.to_owned();
    }
    cell.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Converts a protobuf timestamp; out-of-range values are treated as absent.
pub fn timestamp(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

/// `2024-05-06T07:08:09Z` (fractional seconds only when present), as used in JSON.
pub fn format_rfc3339(value: &DateTime<Utc>) -> String {
    value.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Table cell for an optional timestamp: whole seconds, `-` when absent.
pub fn timestamp_cell(value: Option<&DateTime<Utc>>) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |v| v.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// Table cell for an optional string: `-` when absent or empty.
pub fn text_cell(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => "-".to_owned(),
    }
}

/// `serialize_with` for `Option<DateTime<Utc>>`: RFC 3339 with `Z`, or `null`.
pub fn serialize_timestamp<S: Serializer>(
    value: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => serializer.serialize_str(&format_rfc3339(v)),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Pet {
        name: String,
        #[serde(serialize_with = "serialize_timestamp")]
        born: Option<DateTime<Utc>>,
    }

    impl TableRow for Pet {
        const HEADERS: &'static [&'static str] = &["name", "born"];
        fn cells(&self) -> Vec<String> {
            vec![self.name.clone(), timestamp_cell(self.born.as_ref())]
        }
    }

    fn pets() -> Vec<Pet> {
        vec![
            Pet {
                name: "rex".into(),
                born: timestamp(Some(&prost_types::Timestamp {
                    seconds: 1_714_979_289,
                    nanos: 500_000_000,
                })),
            },
            Pet {
                name: "a\tb".into(),
                born: None,
            },
        ]
    }

    #[test]
    fn table_aligns_columns_and_marks_absent_values() {
        let table = render_list(OutputFormat::Table, &pets()).unwrap();
        assert_eq!(
            table,
            "NAME  BORN\n\
             rex   2024-05-06T07:08:09Z\n\
             a\\tb  -\n"
        );
    }

    #[test]
    fn json_list_is_an_array_with_rfc3339_timestamps() {
        let json = render_list(OutputFormat::Json, &pets()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!([
                {"name": "rex", "born": "2024-05-06T07:08:09.500Z"},
                {"name": "a\tb", "born": null}
            ])
        );
    }

    #[test]
    fn json_single_result_is_an_object_and_table_has_one_row() {
        let pet = &pets()[0];
        let value: serde_json::Value =
            serde_json::from_str(&render_one(OutputFormat::Json, pet).unwrap()).unwrap();
        assert!(value.is_object());
        assert_eq!(value["name"], "rex");
        let table = render_one(OutputFormat::Table, pet).unwrap();
        assert_eq!(table.lines().count(), 2);
    }

    #[test]
    fn empty_list_prints_headers_or_empty_array() {
        let empty: Vec<Pet> = Vec::new();
        assert_eq!(
            render_list(OutputFormat::Table, &empty).unwrap(),
            "NAME  BORN\n"
        );
        assert_eq!(render_list(OutputFormat::Json, &empty).unwrap(), "[]\n");
    }

    #[test]
    fn invalid_protobuf_timestamps_are_absent() {
        assert_eq!(timestamp(None), None);
        let negative_nanos = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert_eq!(timestamp(Some(&negative_nanos)), None);
        let too_far = prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert_eq!(timestamp(Some(&too_far)), None);
    }

    #[test]
    fn text_cell_dashes_empty_values() {
        assert_eq!(text_cell(None), "-");
        assert_eq!(text_cell(Some("")), "-");
        assert_eq!(text_cell(Some("x")), "x");
    }
}
