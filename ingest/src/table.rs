//! Tables by header name: the one way every tabular source is read.
//!
//! A header name is reduced to a *key*: the text inside a trailing `(...)` if there is one
//! (Azure's localized headers carry the English name there), lowercased, with everything
//! but letters and digits dropped. So `lineItem/UnblendedCost`, `line_item_unblended_cost`
//! and `LineItem_UnblendedCost` are one key, and so are `CostInBillingCurrency` and
//! `costInBillingCurrency`. Each source declares its columns with the [`columns!`] macro:
//! a field per logical column, each with the keys that may name it.
//!
//! CSV and Parquet files both arrive here as rows of strings (`csv::StringRecord`), so one
//! normalizer serves both. Empty strings are nulls, as in the CSV exports.

use std::io::Read;

use csv::StringRecord;
use rust_decimal::Decimal;

use crate::error::RowError;
use crate::value;

/// The key a header name is matched by. See the module docs.
pub fn column_key(name: &str) -> String {
    let name = name.trim_start_matches('\u{feff}').trim();
    let inner = match (name.rfind('('), name.ends_with(')')) {
        (Some(open), true) if open + 1 < name.len() - 1 => &name[open + 1..name.len() - 1],
        _ => name,
    };
    inner
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A file's header: the names as written (BOM and surrounding space removed) and their keys.
#[derive(Debug, Clone)]
pub struct Header {
    names: Vec<String>,
    keys: Vec<String>,
}

impl Header {
    pub fn new<I, S>(names: I) -> Header
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names
            .into_iter()
            .map(|n| n.as_ref().trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let keys = names.iter().map(|n| column_key(n)).collect();
        Header { names, keys }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The first column whose key is one of `keys` (each already a key, see `column_key`).
    pub fn find(&self, keys: &[&str]) -> Option<usize> {
        keys.iter()
            .find_map(|k| self.keys.iter().position(|have| have == k))
    }

    /// The names of the columns sharing one of `keys`, when two do. (Different keys of one
    /// logical column are aliases in order of preference, not a clash.)
    pub fn named_twice(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|key| {
            let names: Vec<&str> = self
                .keys
                .iter()
                .zip(&self.names)
                .filter(|(k, _)| k.as_str() == *key)
                .map(|(_, n)| n.as_str())
                .collect();
            (names.len() > 1).then(|| names.join(", "))
        })
    }

    /// Whether a column with this key exists.
    pub fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    /// The name of column `idx` as written in the file.
    pub fn name(&self, idx: usize) -> &str {
        self.names.get(idx).map(String::as_str).unwrap_or("?")
    }
}

/// Declares a source's logical columns and the header keys that may name each.
///
/// ```ignore
/// columns! {
///     pub struct CurColumns {
///         unblended_cost: ["lineitemunblendedcost"],
///         usage_start: ["lineitemusagestartdate"],
///     }
/// }
/// let cols = CurColumns::resolve(&header);
/// let cost = row.decimal(cols.unblended_cost)?;
/// ```
#[macro_export]
macro_rules! columns {
    ($vis:vis struct $name:ident { $($field:ident : [$($key:literal),+ $(,)?]),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy)]
        #[allow(dead_code)]
        $vis struct $name { $(pub $field: $crate::table::Col),+ }

        impl $name {
            /// Finds every logical column in `header`; absent ones resolve to `Col(None)`.
            pub fn resolve(header: &$crate::table::Header) -> Self {
                $name { $($field: $crate::table::Col(header.find(&[$($key),+]))),+ }
            }

            /// Fails when a column this source reads is named twice in `header` (say
            /// `lineItem/UnblendedCost` and `line_item_unblended_cost`): which one holds the
            /// truth cannot be told, so the file is refused rather than read from the first.
            pub fn check_unambiguous(
                header: &$crate::table::Header,
                ctx: &$crate::read::FileCtx,
            ) -> Result<(), $crate::error::IngestError> {
                let mut twice = Vec::new();
                $(
                    if let Some(names) = header.named_twice(&[$($key),+]) {
                        twice.push(names);
                    }
                )+
                if twice.is_empty() {
                    return Ok(());
                }
                Err($crate::error::IngestError::Unreadable {
                    path: ctx.path.clone(),
                    reason: format!("a column is named more than once: {}", twice.join("; ")),
                })
            }
        }
    };
}

/// A resolved column: its index in the header, or `None` when the file does not have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col(pub Option<usize>);

impl Col {
    pub fn present(self) -> bool {
        self.0.is_some()
    }
}

/// The last time parsed in one column, for `Row::timestamp_memo`.
#[derive(Debug, Clone, Default)]
pub struct TimeMemo {
    text: String,
    value: Option<chrono::DateTime<chrono::Utc>>,
}

/// One data row, with what it needs to name itself in an error.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub record: &'a StringRecord,
    pub header: &'a Header,
    pub file: &'a str,
    /// 1-based data row number (the header is row 0).
    pub number: u64,
}

impl<'a> Row<'a> {
    /// The raw cell, or `None` when the column is absent or the cell is a null spelling.
    /// A BOM at the start of a cell (a second BOM before the first data row) is dropped.
    pub fn text(&self, col: Col) -> Option<&'a str> {
        let idx = col.0?;
        let raw = self.record.get(idx)?;
        value::text(raw.strip_prefix('\u{feff}').unwrap_or(raw))
    }

    /// Like `text`, owned.
    pub fn string(&self, col: Col) -> Option<String> {
        self.text(col).map(str::to_string)
    }

    /// A decimal cell; a malformed number is an error naming the file, row and column.
    pub fn decimal(&self, col: Col) -> Result<Option<Decimal>, RowError> {
        match self.text(col) {
            None => Ok(None),
            Some(t) => value::decimal(t).map_err(|reason| self.error(col, reason)),
        }
    }

    /// A decimal cell that must be present.
    pub fn required_decimal(&self, col: Col, what: &str) -> Result<Decimal, RowError> {
        self.decimal(col)?
            .ok_or_else(|| self.error(col, format!("{what} is empty")))
    }

    /// A float measurement cell (metrics, never money).
    pub fn float(&self, col: Col) -> Result<Option<f64>, RowError> {
        match self.text(col) {
            None => Ok(None),
            Some(t) => value::float(t).map_err(|reason| self.error(col, reason)),
        }
    }

    /// A UTC time cell.
    pub fn timestamp(&self, col: Col) -> Result<Option<chrono::DateTime<chrono::Utc>>, RowError> {
        match self.text(col) {
            None => Ok(None),
            Some(t) => value::timestamp(t).map_err(|reason| self.error(col, reason)),
        }
    }

    /// Like `timestamp`, reusing the last value parsed in this column when the text is the
    /// same: exports repeat the billing period and the usage hour row after row, and
    /// parsing a time costs more than comparing two short strings.
    pub fn timestamp_memo(
        &self,
        col: Col,
        memo: &mut TimeMemo,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, RowError> {
        let Some(t) = self.text(col) else {
            return Ok(None);
        };
        if memo.value.is_some() && memo.text == t {
            return Ok(memo.value);
        }
        let value = value::timestamp(t).map_err(|reason| self.error(col, reason))?;
        memo.text.clear();
        memo.text.push_str(t);
        memo.value = value;
        Ok(value)
    }

    /// A UTC time cell that must be present.
    pub fn required_timestamp(
        &self,
        col: Col,
        what: &str,
    ) -> Result<chrono::DateTime<chrono::Utc>, RowError> {
        self.timestamp(col)?
            .ok_or_else(|| self.error(col, format!("{what} is empty")))
    }

    /// A text cell that must be present.
    pub fn required_text(&self, col: Col, what: &str) -> Result<&'a str, RowError> {
        self.text(col)
            .ok_or_else(|| self.error(col, format!("{what} is empty")))
    }

    /// An error about this row and, when known, one of its columns.
    pub fn error(&self, col: Col, reason: impl Into<String>) -> RowError {
        RowError {
            file: self.file.to_string(),
            row: self.number,
            column: col.0.map(|i| self.header.name(i).to_string()),
            reason: reason.into(),
        }
    }
}

/// A source of string rows under one header: a CSV stream or a Parquet file.
pub trait Table {
    fn header(&self) -> &Header;
    /// Reads the next row into `buf`. `Ok(false)` at the end. An `Err` is one bad row (the
    /// reader stays usable) or, when `fatal()` is set, the end of a broken file.
    fn next_row(&mut self, buf: &mut StringRecord) -> Result<bool, TableError>;
}

/// Why a row could not be read at all.
#[derive(Debug, Clone)]
pub struct TableError {
    pub reason: String,
    /// True when the rest of the file cannot be read either.
    pub fatal: bool,
}

/// A CSV file read by header name.
pub struct CsvTable<R: Read> {
    reader: csv::Reader<Tail<R>>,
    header: Header,
}

/// Passes a stream through, remembering how many bytes it gave, its last byte, whether it
/// has ended, and the bytes from the start of the record being read on: enough to tell a
/// last row that the end of the file cut off. Whether the file ends inside a quoted cell is
/// worked out only for the last record, which starts outside any quote, from the bytes
/// kept: scanning every byte of every file for quotes cost a fifth of the CUR reader's
/// throughput.
struct Tail<R> {
    inner: R,
    bytes: u64,
    last: Option<u8>,
    ended: bool,
    /// The bytes read from offset `kept_from` on.
    kept: Vec<u8>,
    kept_from: u64,
}

impl<R> Tail<R> {
    /// The record about to be read starts at byte `start`: the bytes before it are no
    /// longer needed. (They are dropped in large pieces, so that keeping costs one copy of
    /// each byte in all.)
    fn record_starts_at(&mut self, start: u64) {
        let before = usize::try_from(start.saturating_sub(self.kept_from)).unwrap_or(usize::MAX);
        if before >= 64 * 1024 && before * 2 >= self.kept.len() {
            let before = before.min(self.kept.len());
            self.kept.drain(..before);
            self.kept_from += before as u64;
        }
    }

    /// Where the quotes stand at the end of the bytes read, scanning from `start`, the
    /// start of a record (outside any quote).
    fn quote_at_end(&self, start: u64) -> Quote {
        let from = usize::try_from(start.saturating_sub(self.kept_from)).unwrap_or(usize::MAX);
        Quote::CellStart.after(self.kept.get(from..).unwrap_or_default())
    }
}

/// Where the bytes seen so far leave a CSV reader (the `csv` crate's defaults: `,`
/// delimiter, `"` quotes doubled inside quoted cells, `\r` or `\n` ending a record). A quote
/// opens a quoted cell only at the start of a cell; anywhere else it is a plain character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// At the start of a cell.
    CellStart,
    /// In a cell that is not quoted (or past the closing quote of one).
    Plain,
    /// In a quoted cell.
    Open,
    /// Just after a quote in a quoted cell: it closed the cell, unless another follows.
    Closing,
}

impl Quote {
    /// The state after `bytes`. Inside a cell only its end matters, so the scan jumps from
    /// one quote (in a quoted cell) or one delimiter (in a plain cell) to the next with
    /// `memchr`: this runs over every byte of every CSV file read, and a byte-at-a-time
    /// state machine cost a third of the CUR reader's throughput.
    fn after(self, bytes: &[u8]) -> Quote {
        let mut state = self;
        let mut rest = bytes;
        while let Some((&b, tail)) = rest.split_first() {
            state = match state {
                Quote::Open => match memchr::memchr(b'"', rest) {
                    // Skip to the next quote: nothing else matters inside a quoted cell.
                    Some(i) => {
                        rest = &rest[i + 1..];
                        Quote::Closing
                    }
                    None => return Quote::Open,
                },
                Quote::Plain => match memchr::memchr3(b',', b'\n', b'\r', rest) {
                    // A quote inside a plain cell is a plain character: skip to its end.
                    Some(i) => {
                        rest = &rest[i + 1..];
                        Quote::CellStart
                    }
                    None => return Quote::Plain,
                },
                Quote::CellStart | Quote::Closing => {
                    rest = tail;
                    // After a closing quote, a second one is an escaped quote (the cell goes on
                    // quoted), as a quote at the start of a cell opens one.
                    match b {
                        b'"' => Quote::Open,
                        b',' | b'\n' | b'\r' => Quote::CellStart,
                        _ => Quote::Plain,
                    }
                }
            };
        }
        state
    }
}

impl<R: Read> Read for Tail<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.bytes += n as u64;
            self.last = Some(buf[n - 1]);
            self.kept.extend_from_slice(&buf[..n]);
        } else if !buf.is_empty() {
            self.ended = true;
        }
        Ok(n)
    }
}

impl<R: Read> std::fmt::Debug for CsvTable<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvTable")
            .field("header", &self.header)
            .finish()
    }
}

impl<R: Read> CsvTable<R> {
    /// Opens a CSV stream; the first record is the header. Rows may be shorter or longer
    /// than the header (`flexible`): a short row is caught by the normalizer, not the reader.
    pub fn new(input: R) -> Result<CsvTable<R>, String> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(Tail {
                inner: input,
                bytes: 0,
                last: None,
                ended: false,
                kept: Vec::new(),
                kept_from: 0,
            });
        let names = reader
            .headers()
            .map_err(|e| format!("cannot read the CSV header: {e}"))?
            .clone();
        Ok(CsvTable {
            reader,
            header: Header::new(names.iter()),
        })
    }
}

impl<R: Read> Table for CsvTable<R> {
    fn header(&self) -> &Header {
        &self.header
    }

    /// A last row with fewer cells than the header and no line end, or one that ends inside
    /// a quoted cell (the quote never closes), is where the file was cut short (a partial
    /// download, a file still being written): an error that ends the file, not a row read
    /// with empty trailing columns or a truncated cell. (A file cut exactly at a line end,
    /// or inside the last, unquoted cell of a row, cannot be told from a whole file.)
    fn next_row(&mut self, buf: &mut StringRecord) -> Result<bool, TableError> {
        let start = self.reader.position().byte();
        self.reader.get_mut().record_starts_at(start);
        match self.reader.read_record(buf) {
            Ok(true) => {
                let tail = self.reader.get_ref();
                let at_end = tail.ended && self.reader.position().byte() == tail.bytes;
                let cut = if !at_end {
                    None
                } else if tail.quote_at_end(start) == Quote::Open {
                    Some("it ends inside a quoted cell whose closing quote never comes".to_string())
                } else if !matches!(tail.last, Some(b'\n' | b'\r')) && buf.len() < self.header.len()
                {
                    Some(format!(
                        "its last line has no line end and {} of the header's {} columns",
                        buf.len(),
                        self.header.len()
                    ))
                } else {
                    None
                };
                match cut {
                    Some(what) => Err(TableError {
                        reason: format!(
                            "{what}: the file was cut short (a partial download, or a file \
                             still being written)"
                        ),
                        fatal: true,
                    }),
                    None => Ok(true),
                }
            }
            Ok(false) => Ok(false),
            Err(e) => {
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                Err(TableError {
                    reason: e.to_string(),
                    fatal,
                })
            }
        }
    }
}

/// The header line of a CSV byte prefix, for format detection.
pub fn sniff_csv_header(prefix: &[u8]) -> Option<Header> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(prefix);
    let mut rec = csv::ByteRecord::new();
    match reader.read_byte_record(&mut rec) {
        Ok(true) => {
            let names: Vec<String> = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            Some(Header::new(names))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    /// The quote state one byte at a time, straight from the rules on [`Quote`]: the
    /// reference the `memchr` scan must agree with.
    fn quote_by_byte(mut state: Quote, bytes: &[u8]) -> Quote {
        for &b in bytes {
            state = match (state, b) {
                (Quote::Open, b'"') => Quote::Closing,
                (Quote::Open, _) => Quote::Open,
                (Quote::CellStart | Quote::Closing, b'"') => Quote::Open,
                (_, b',' | b'\n' | b'\r') => Quote::CellStart,
                _ => Quote::Plain,
            };
        }
        state
    }

    proptest::proptest! {
        /// Over CSV-ish bytes cut into two reads anywhere, the scan ends where the byte
        /// by byte rules do.
        #[test]
        fn the_quote_scan_agrees_with_the_byte_rules(
            text in "[a\",\r\n ]{0,60}",
            cut in 0usize..61,
        ) {
            let bytes = text.as_bytes();
            let cut = cut.min(bytes.len());
            let scanned = Quote::CellStart.after(&bytes[..cut]).after(&bytes[cut..]);
            proptest::prop_assert_eq!(scanned, quote_by_byte(Quote::CellStart, bytes), "{:?}", text);
        }
    }

    use super::*;

    #[test]
    fn keys_unify_the_spellings_of_one_column() {
        assert_eq!(
            column_key("lineItem/UnblendedCost"),
            "lineitemunblendedcost"
        );
        assert_eq!(
            column_key("line_item_unblended_cost"),
            "lineitemunblendedcost"
        );
        assert_eq!(
            column_key("savingsPlan/SavingsPlanARN"),
            column_key("savings_plan_savings_plan_a_r_n")
        );
        assert_eq!(column_key("\u{feff}invoiceId"), "invoiceid");
        assert_eq!(
            column_key("Abonnement-GUID (SubscriptionGuid)"),
            "subscriptionguid"
        );
    }

    #[test]
    fn a_bom_in_the_first_data_cell_is_dropped() {
        let data = "\u{feff}a,b\r\n\u{feff}x,1\r\ny,2\r\n";
        let mut t = CsvTable::new(data.as_bytes()).expect("header");
        assert_eq!(t.header().names(), ["a", "b"]);
        let mut buf = StringRecord::new();
        assert!(t.next_row(&mut buf).expect("row"));
        let h = t.header().clone();
        let row = Row {
            record: &buf,
            header: &h,
            file: "f",
            number: 1,
        };
        assert_eq!(row.text(Col(Some(0))), Some("x"));
        assert_eq!(row.text(Col(Some(1))), Some("1"));
    }

    /// Every row of `data`, and the first error.
    fn rows(data: &str) -> (Vec<Vec<String>>, Option<TableError>) {
        let mut t = CsvTable::new(data.as_bytes()).expect("header");
        let mut buf = StringRecord::new();
        let mut rows = Vec::new();
        loop {
            match t.next_row(&mut buf) {
                Ok(true) => rows.push(buf.iter().map(str::to_string).collect()),
                Ok(false) => return (rows, None),
                Err(e) => return (rows, Some(e)),
            }
        }
    }

    #[test]
    fn a_short_last_row_without_a_line_end_is_a_cut_file() {
        let (read, err) = rows("a,b,c\n1,2,3\n4,5");
        assert_eq!(read, [["1", "2", "3"]]);
        let err = err.expect("the cut row is an error");
        assert!(err.fatal);
        assert!(
            err.reason.contains("no line end and 2 of the header's 3"),
            "{}",
            err.reason
        );
        // Cut inside a quoted cell: the quote runs to the end of the file.
        let (_, err) = rows("a,b,c\n1,\"x, y");
        assert!(err.expect("an error").fatal);
    }

    #[test]
    fn a_last_row_ending_inside_a_quoted_cell_is_a_cut_file() {
        // Every cell is there, but the last one's quote never closes.
        let (read, err) = rows("a,b\n1,x\n2,\"x, y");
        assert_eq!(read, [["1", "x"]]);
        let err = err.expect("the cut row is an error");
        assert!(err.fatal);
        assert!(
            err.reason.contains("inside a quoted cell"),
            "{}",
            err.reason
        );
        // Cut just after a line end inside a quoted cell (CRLF or LF): the last byte is a
        // line end, yet the row is not whole.
        for data in [
            "a,b,c\n1,\"two\nlines",
            "a,b,c\r\n1,\"two\r\n",
            "a,b\n1,\"x\n",
        ] {
            let (_, err) = rows(data);
            assert!(err.is_some_and(|e| e.fatal), "{data:?}");
        }
        // With a byte order mark and quoted header cells, too.
        let (_, err) = rows("\u{feff}\"a\",\"b\"\r\n\"1\",\"2\"\r\n\"3\",\"4");
        assert!(err.is_some_and(|e| e.fatal));
    }

    #[test]
    fn whole_last_rows_with_quotes_are_read() {
        // Closed quotes, doubled quotes, a quote inside an unquoted cell, a quoted cell
        // with a line end in it, a byte order mark: all whole, with or without a last
        // line end.
        for (data, last) in [
            ("a,b\n1,\"x, y\"", vec!["1", "x, y"]),
            ("a,b\n1,\"say \"\"hi\"\"\"", vec!["1", "say \"hi\""]),
            ("a,b\n1,5\" screen", vec!["1", "5\" screen"]),
            ("a,b\n5\" x,\"q\"\r\n", vec!["5\" x", "q"]),
            ("a,b\n1,\"two\nlines\"", vec!["1", "two\nlines"]),
            ("\u{feff}\"a\",\"b\"\n\"1\",\"2\"", vec!["1", "2"]),
            ("\u{feff}a,b\n1,2", vec!["1", "2"]),
        ] {
            let (read, err) = rows(data);
            assert!(err.is_none(), "{data:?}: {err:?}");
            assert_eq!(
                read.last(),
                Some(&last.iter().map(|s| s.to_string()).collect())
            );
        }
        // Split into one-byte reads, the state carries across reads.
        let data = "a,b\n1,\"x\"\"y\"\n2,\"z";
        let mut t = CsvTable::new(OneByte(data.as_bytes())).expect("header");
        let mut buf = StringRecord::new();
        assert!(matches!(t.next_row(&mut buf), Ok(true)));
        assert_eq!(&buf[1], "x\"y");
        assert!(t.next_row(&mut buf).is_err_and(|e| e.fatal));
    }

    /// Gives one byte per read.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.is_empty()) {
                (Some((&b, rest)), false) => {
                    buf[0] = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn short_rows_with_a_line_end_and_whole_last_rows_without_one_are_read() {
        let (read, err) = rows("a,b,c\n1,2\r\n4,5,6");
        assert!(err.is_none(), "{err:?}");
        assert_eq!(read, [vec!["1", "2"], vec!["4", "5", "6"]]);
        let (read, err) = rows("a,b,c\n1,2\n");
        assert!(err.is_none(), "{err:?}");
        assert_eq!(read, [["1", "2"]]);
    }
}
