//! JSON-RPC 1.0 as OVSDB uses it (RFC 7047 section 4): message shapes and
//! the framing of a byte stream into messages. A codec only: bytes in,
//! messages out, and the reverse. The sockets live in the daemons.

use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

/// One JSON-RPC message. A JSON `null` member counts as absent, as in
/// Open vSwitch, so `{"id": null, "method": ...}` is a notification.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Request { method: String, params: Vec<Json>, id: Json },
    Notification { method: String, params: Vec<Json> },
    Reply { result: Json, id: Json },
    Error { error: Json, id: Json },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MessageError {
    #[error("message is not a JSON object")]
    NotObject,
    #[error("\"method\" is not a JSON string")]
    MethodNotString,
    #[error("message has unexpected member \"{0}\"")]
    UnexpectedMember(String),
    #[error("\"params\" must be JSON array")]
    ParamsNotArray,
    #[error("{kind} must{} have \"{member}\"", if *.must { "" } else { " not" })]
    Shape { kind: &'static str, member: &'static str, must: bool },
}

impl Message {
    pub fn from_json(json: Json) -> Result<Message, MessageError> {
        let Json::Object(mut obj) = json else { return Err(MessageError::NotObject) };
        let mut take = |name: &str| obj.remove(name).filter(|v| !v.is_null());
        let method = take("method");
        let params = take("params");
        let result = take("result");
        let error = take("error");
        let id = take("id");
        if let Some(extra) = obj.keys().next() {
            return Err(MessageError::UnexpectedMember(extra.clone()));
        }
        let method = match method {
            None => None,
            Some(Json::String(s)) => Some(s),
            Some(_) => return Err(MessageError::MethodNotString),
        };
        let params = match params {
            None => None,
            Some(Json::Array(a)) => Some(a),
            Some(_) => return Err(MessageError::ParamsNotArray),
        };
        let kind = if result.is_some() {
            "reply"
        } else if error.is_some() {
            "error"
        } else if id.is_some() {
            "request"
        } else {
            "notification"
        };
        let (m, p, r, e, i) = match kind {
            "request" => (true, true, false, false, true),
            "notification" => (true, true, false, false, false),
            "reply" => (false, false, true, false, true),
            _ => (false, false, false, true, true),
        };
        let check = |present: bool, must: bool, member: &'static str| {
            if present == must { Ok(()) } else { Err(MessageError::Shape { kind, member, must }) }
        };
        check(method.is_some(), m, "method")?;
        check(params.is_some(), p, "params")?;
        check(result.is_some(), r, "result")?;
        check(error.is_some(), e, "error")?;
        check(id.is_some(), i, "id")?;
        Ok(match (method, params, result, error, id) {
            (Some(method), Some(params), None, None, Some(id)) => Message::Request { method, params, id },
            (Some(method), Some(params), None, None, None) => Message::Notification { method, params },
            (None, None, Some(result), None, Some(id)) => Message::Reply { result, id },
            (None, None, None, Some(error), Some(id)) => Message::Error { error, id },
            _ => return Err(MessageError::Shape { kind, member: "id", must: true }),
        })
    }

    pub fn to_json(&self) -> Json {
        let mut obj = Map::new();
        match self {
            Message::Request { method, params, id } => {
                obj.insert("id".into(), id.clone());
                obj.insert("method".into(), method.clone().into());
                obj.insert("params".into(), Json::Array(params.clone()));
            }
            Message::Notification { method, params } => {
                obj.insert("id".into(), Json::Null);
                obj.insert("method".into(), method.clone().into());
                obj.insert("params".into(), Json::Array(params.clone()));
            }
            Message::Reply { result, id } => {
                obj.insert("id".into(), id.clone());
                obj.insert("result".into(), result.clone());
                obj.insert("error".into(), Json::Null);
            }
            // Open vSwitch 3.1 sends error replies without a "result".
            Message::Error { error, id } => {
                obj.insert("id".into(), id.clone());
                obj.insert("error".into(), error.clone());
            }
        }
        Json::Object(obj)
    }

    /// The bytes of [`Message::to_json`] (members in the same order),
    /// written without copying the message into a tree first: a request
    /// may carry a whole database's worth of operations.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        macro_rules! put {
            ($out:expr, $member:literal, $value:expr) => {{
                $out.extend_from_slice(if $out.is_empty() { b"{" } else { b"," });
                $out.extend_from_slice(concat!("\"", $member, "\":").as_bytes());
                let _ = serde_json::to_writer(&mut $out, $value);
            }};
        }
        match self {
            Message::Request { method, params, id } => {
                put!(out, "id", id);
                put!(out, "method", method);
                put!(out, "params", params);
            }
            Message::Notification { method, params } => {
                put!(out, "id", &Json::Null);
                put!(out, "method", method);
                put!(out, "params", params);
            }
            Message::Reply { result, id } => {
                put!(out, "error", &Json::Null);
                put!(out, "id", id);
                put!(out, "result", result);
            }
            Message::Error { error, id } => {
                put!(out, "error", error);
                put!(out, "id", id);
            }
        }
        out.push(b'}');
        out
    }
}

/// Serialises a reply without building the whole message as a tree.
pub fn reply_bytes(result: &Json, id: &Json) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(&serde_json::to_vec(id).unwrap_or_default());
    out.extend_from_slice(b",\"result\":");
    crate::json::write_json(&mut out, result);
    out.extend_from_slice(b",\"error\":null}");
    out
}

/// A message's members with their values left as text, for readers that
/// take the large ones straight from it (a client's updates, a server's
/// bulk `transact`). Only the shape is checked; anything it refuses (an
/// unknown member, a duplicate) is for [`parse_frame`] and
/// [`Message::from_json`] to report.
///
/// `params` is kept as one text, or as another borrowing type (the texts
/// of its elements, for [`transact_request`]).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a, P: serde::Deserialize<'de>"))]
pub struct Envelope<'a, P = &'a RawValue> {
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default = "none")]
    pub params: Option<P>,
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
}

impl<'a, P: serde::Deserialize<'a>> Envelope<'a, P> {
    /// The members of the message in `frame`, unless its text holds a
    /// null byte in a string (which [`parse_frame`] refuses whole).
    pub fn parse(frame: &'a [u8]) -> Option<Envelope<'a, P>> {
        if has_null_escape(frame) {
            return None;
        }
        serde_json::from_slice(frame).ok()
    }
}

impl<'a, P> Envelope<'a, P> {
    /// The params and the id of a `transact` request (which has neither a
    /// result nor an error).
    fn transact(self) -> Option<(P, &'a RawValue)> {
        match (self.method, self.params, self.id, self.result, self.error) {
            (Some(method), Some(params), Some(id), None, None) if method == "transact" => Some((params, id)),
            _ => None,
        }
    }
}

/// Whether `frame` spells a null byte (`\\u0000`) anywhere: such messages
/// go the way of [`parse_frame`], which refuses them.
fn has_null_escape(frame: &[u8]) -> bool {
    static NULL_ESCAPE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\\u0000"));
    NULL_ESCAPE.find(frame).is_some()
}

/// Whether `frame` spells the `transact` method's name (as a string, not
/// escaped), which every `transact` request read as text does.
fn names_transact(frame: &[u8]) -> bool {
    static TRANSACT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"transact\""));
    TRANSACT.find(frame).is_some()
}

fn none<T>() -> Option<T> {
    None
}

/// A `transact` request kept as text: its id, the text of its params, and
/// what was found in that text while the request was read
/// ([`crate::txn::Found`]).
#[derive(Debug)]
pub struct TransactRequest<'a> {
    pub id: Json,
    pub params: &'a str,
    pub found: crate::txn::Found,
}

/// Messages up to this size have their operations split while they are
/// read, in one pass; a larger one has its operations found first, to be
/// split on the pool if there are many.
const SPLIT_WHILE_READING_MAX: usize = 16 << 10;

/// The `transact` request in `frame`: its params are looked into while
/// the message is checked, so that a small transaction's operations are
/// split in the same pass, and a large one's need not be looked for
/// again. Any other message, or a request of unusual shape (params that
/// are not a non-empty array, a null byte in a string), is `None`: it is
/// parsed as usual, which reports what is wrong with it.
pub fn transact_request(frame: &[u8]) -> Option<TransactRequest<'_>> {
    // Other messages (and a method name spelled with escapes, which the
    // usual parse reads as well) are not looked into.
    if !names_transact(frame) || has_null_escape(frame) {
        return None;
    }
    let text = std::str::from_utf8(frame).ok()?;
    if text.len() <= SPLIT_WHILE_READING_MAX
        && let Some(request) = transact_split(text)
    {
        return Some(request);
    }
    let (items, id) = serde_json::from_str::<Envelope<'_, Vec<&RawValue>>>(text).ok()?.transact()?;
    // Each element borrows from `text`: where it is, and from that where
    // the array's brackets are (only blanks lie between).
    let at = |item: &RawValue| item.get().as_ptr() as usize - text.as_ptr() as usize;
    let (first, last) = (items.first()?, items.last()?);
    let open = params_open(text, at(first))?;
    let end = at(last) + last.get().len();
    let close = end + (text[end..].len() - text[end..].trim_start_matches([' ', '\t', '\n', '\r']).len());
    if text.as_bytes().get(close) != Some(&b']') {
        return None;
    }
    let items = items.iter().map(|item| at(item) - open..at(item) - open + item.get().len()).collect();
    let id = serde_json::from_str(id.get()).ok()?;
    let params = &text[open..=close];
    // The params were only skipped over.
    if !numbers_in_range(params.as_bytes()) {
        return None;
    }
    let found = crate::txn::Found::new(params, items)?;
    Some(TransactRequest { id, params, found })
}

/// [`transact_request`] for a small message, its operations split as they
/// are read. `None` if it is not such a request, or has too many
/// operations, or one that is not an object: those take the other way.
fn transact_split(text: &str) -> Option<TransactRequest<'_>> {
    let (params, id) = serde_json::from_str::<Envelope<'_, SplitParams<'_>>>(text).ok()?.transact()?;
    let at = |s: &str| s.as_ptr() as usize - text.as_ptr() as usize;
    // All was read but the name and the rows, which were only skipped over.
    let mut skipped = std::iter::once(params.name.get()).chain(params.ops.iter().filter_map(|(_, row)| *row));
    if !skipped.all(|t| numbers_in_range(t.as_bytes())) {
        return None;
    }
    let name_at = at(params.name.get());
    let open = params_open(text, name_at)?;
    // The message is whole (framed), so its brackets balance.
    let close = value_end(text.as_bytes(), open)?;
    let name = name_at - open..name_at - open + params.name.get().len();
    let ops = params
        .ops
        .into_iter()
        .map(|(op, row)| crate::txn::SplitOp { op, row: row.map(|r| at(r) - open..at(r) - open + r.len()) })
        .collect();
    let id = serde_json::from_str(id.get()).ok()?;
    Some(TransactRequest {
        id,
        params: &text[open..=close],
        found: crate::txn::Found { name, ops: crate::txn::FoundOps::Split(ops) },
    })
}

/// Where the `[` of the params array is, given where its first element
/// starts (only blanks lie between).
fn params_open(text: &str, first: usize) -> Option<usize> {
    let open = text[..first].trim_end_matches([' ', '\t', '\n', '\r']).len().checked_sub(1)?;
    (text.as_bytes()[open] == b'[').then_some(open)
}

/// Whether every number outside strings in `text` is one the usual parse
/// takes: beyond a double's range it fails ("number out of range"), which
/// the readers that only skip over values do not notice. Only a number
/// with an exponent or with hundreds of digits can be that large, and
/// only those are parsed here, by the usual parser.
fn numbers_in_range(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => match string_end(text, i) {
                Some(end) => i = end,
                None => return true,
            },
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < text.len() && matches!(text[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                let number = &text[start..i];
                if (number.len() > 300 || number.iter().any(|b| matches!(b, b'e' | b'E')))
                    && serde_json::from_slice::<Json>(number).is_err()
                {
                    return false;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    true
}

/// Where the string opening with the quote at `open` ends: its closing
/// quote, past escaped characters.
fn string_end(text: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        i += string_stop(text.get(i..)?)?;
        if text[i] == b'"' {
            return Some(i);
        }
        i += 2;
    }
}

/// Where the array or object opening at `open` closes, in a text whose
/// brackets balance outside strings.
fn value_end(text: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < text.len() {
        match text[i] {
            b'"' => i = string_end(text, i)?,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A `transact` request's params read with the request: the database
/// name's text and each operation split ([`crate::seed::split_member`]).
/// Refused (so that the request is read the other way) from
/// [`crate::txn::READ_AHEAD_MIN_OPS`] operations on.
struct SplitParams<'a> {
    name: &'a RawValue,
    ops: Vec<(Json, Option<&'a str>)>,
}

impl<'de> serde::Deserialize<'de> for SplitParams<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(SplitParamsVisitor)
    }
}

struct SplitParamsVisitor;

impl<'de> serde::de::Visitor<'de> for SplitParamsVisitor {
    type Value = SplitParams<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("transact params")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<SplitParams<'de>, A::Error> {
        use serde::de::Error as _;
        let name: &RawValue = seq.next_element()?.ok_or_else(|| A::Error::custom("no database name"))?;
        let mut ops = Vec::new();
        while let Some(op) = seq.next_element_seed(crate::seed::SplitMember { name: "row" })? {
            if ops.len() + 1 >= crate::txn::READ_AHEAD_MIN_OPS {
                return Err(A::Error::custom("many operations"));
            }
            ops.push(op);
        }
        Ok(SplitParams { name, ops })
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("syntax error at byte {offset}: unexpected {byte:?} outside a JSON value")]
    Junk { offset: u64, byte: char },
    #[error("message exceeds {limit} bytes")]
    TooLong { limit: usize },
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("syntax error at byte {offset}: unexpected {byte:?}")]
    Syntax { offset: u64, byte: char },
    #[error("null bytes are not allowed in strings")]
    NullByte,
}

/// Splits a stream of concatenated JSON texts into values. Feed bytes with
/// [`Framer::push`], take values with [`Framer::next`]; a partial value
/// waits for more bytes (it is not an error).
pub struct Framer {
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed by returned values.
    consumed: usize,
    /// How far the scanner has looked.
    scanned: usize,
    /// Open brackets of the value being scanned, innermost last.
    stack: Vec<u8>,
    in_string: bool,
    escaped: bool,
    /// Start of the value being scanned.
    start: Option<usize>,
    max_len: usize,
    /// Stream offset of `buf[0]`, for error messages.
    base: u64,
}

impl Framer {
    pub fn new(max_len: usize) -> Framer {
        Framer {
            buf: Vec::new(),
            consumed: 0,
            scanned: 0,
            stack: Vec::new(),
            in_string: false,
            escaped: false,
            start: None,
            max_len,
            base: 0,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(data);
    }

    /// The buffer, with room for at least `room` more bytes, for a reader
    /// to append to (tokio's `read_buf`): received bytes go straight in,
    /// without a copy through another buffer.
    pub fn read_buffer(&mut self, room: usize) -> &mut Vec<u8> {
        self.compact();
        self.buf.reserve(room);
        &mut self.buf
    }

    /// Drops the bytes of returned values, once they are half the buffer.
    fn compact(&mut self) {
        if self.consumed > 0 && self.consumed * 2 >= self.buf.len() {
            self.buf.drain(..self.consumed);
            self.base += self.consumed as u64;
            self.scanned -= self.consumed;
            self.start = self.start.map(|s| s - self.consumed);
            self.consumed = 0;
        }
    }

    /// Bytes received but not yet returned as values.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.consumed
    }

    pub fn next(&mut self) -> Result<Option<Json>, FrameError> {
        match self.next_frame()? {
            Some(frame) => parse_frame(frame).map(Some),
            None => Ok(None),
        }
    }

    /// The bytes of the next complete value, unparsed (see
    /// [`parse_frame`]); the framer has only checked that its brackets
    /// balance.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let buf = &self.buf[..];
        let mut i = self.scanned;
        while i < buf.len() {
            let b = buf[i];
            if self.start.is_none() {
                i += 1;
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        self.consumed = i;
                        continue;
                    }
                    b'{' | b'[' => {
                        self.start = Some(i - 1);
                        self.stack.clear();
                        self.stack.push(b);
                        continue;
                    }
                    _ => {
                        self.scanned = i;
                        return Err(FrameError::Junk { offset: self.base + i as u64 - 1, byte: b as char });
                    }
                }
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                // Most of a message is string contents: jump to the next
                // quote or backslash.
                match string_stop(&buf[i..]) {
                    Some(off) => {
                        i += off;
                        if buf[i] == b'"' {
                            self.in_string = false;
                        } else {
                            self.escaped = true;
                        }
                        i += 1;
                    }
                    None => i = buf.len(),
                }
                continue;
            }
            // Outside strings: skip the bytes that can appear there
            // (numbers, literals, punctuation, space) a run at a time.
            while i < buf.len() && CLASS[buf[i] as usize] == PLAIN {
                i += 1;
            }
            let Some(&b) = buf.get(i) else { break };
            i += 1;
            match CLASS[b as usize] {
                QUOTE => self.in_string = true,
                OPEN => self.stack.push(b),
                CLOSE => {
                    let open = if b == b'}' { b'{' } else { b'[' };
                    if self.stack.pop() != Some(open) {
                        self.scanned = i;
                        return Err(FrameError::Syntax { offset: self.base + i as u64 - 1, byte: b as char });
                    }
                    if self.stack.is_empty() {
                        let start = self.start.take().unwrap_or(i - 1);
                        self.scanned = i;
                        self.consumed = i;
                        return Ok(Some(&self.buf[start..i]));
                    }
                }
                // Anything else cannot appear outside a string: fail now
                // rather than wait for the value to end.
                _ => {
                    self.scanned = i;
                    return Err(FrameError::Syntax { offset: self.base + i as u64 - 1, byte: b as char });
                }
            }
        }
        self.scanned = i.min(buf.len());
        if let Some(start) = self.start
            && self.buf.len() - start > self.max_len
        {
            return Err(FrameError::TooLong { limit: self.max_len });
        }
        Ok(None)
    }
}

/// Where the next `"` or `\\` of `bytes` is. Most strings of OVSDB
/// messages are short (member names, `"uuid"`, table names), so the first
/// bytes are looked at eight at a time in a word, which costs less than
/// setting up a vector search; a longer string goes to `memchr2`.
#[inline]
fn string_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    // The high bit of each byte of `w` that is zero (and perhaps of bytes
    // after one that is: only the first one found is used).
    let zeros = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS;
    let mut at = 0;
    while at < 32 {
        let Some(chunk) = bytes.get(at..at + 8) else {
            return bytes[at..].iter().position(|&b| b == b'"' || b == b'\\').map(|i| at + i);
        };
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let found = zeros(w ^ QUOTES) | zeros(w ^ BACKSLASHES);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    memchr::memchr2(b'"', b'\\', &bytes[at..]).map(|i| at + i)
}

/// How [`Framer::next_frame`] treats each byte outside strings.
const PLAIN: u8 = 0;
const QUOTE: u8 = 1;
const OPEN: u8 = 2;
const CLOSE: u8 = 3;
const INVALID: u8 = 4;

static CLASS: [u8; 256] = {
    let mut class = [INVALID; 256];
    let plain = b"0123456789-+.eEtrufalsn,: \t\r\n";
    let mut i = 0;
    while i < plain.len() {
        class[plain[i] as usize] = PLAIN;
        i += 1;
    }
    class[b'"' as usize] = QUOTE;
    class[b'{' as usize] = OPEN;
    class[b'[' as usize] = OPEN;
    class[b'}' as usize] = CLOSE;
    class[b']' as usize] = CLOSE;
    class
};

/// Parses one framed value. Like Open vSwitch, refuses strings holding a
/// null byte (which the C implementation cannot represent).
pub fn parse_frame(bytes: &[u8]) -> Result<Json, FrameError> {
    let v: Json = serde_json::from_slice(bytes).map_err(|e| FrameError::Json(e.to_string()))?;
    if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) && has_null_byte(&v) {
        return Err(FrameError::NullByte);
    }
    Ok(v)
}

pub(crate) fn has_null_byte(v: &Json) -> bool {
    match v {
        Json::String(s) => s.contains('\0'),
        Json::Array(a) => a.iter().any(has_null_byte),
        Json::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_null_byte(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bytes_are_the_json_tree_serialised() {
        let params = vec![json!("OVN_Southbound"), json!({"op": "insert", "row": {"a": ["set", [1, "é\n"]]}})];
        for m in [
            Message::Request { method: "transact".into(), params: params.clone(), id: json!(7) },
            Message::Notification { method: "update2".into(), params },
            Message::Reply { result: json!([{"count": 1}]), id: json!("x") },
            Message::Error { error: json!("unknown method"), id: json!(null) },
        ] {
            assert_eq!(m.to_bytes(), serde_json::to_vec(&m.to_json()).unwrap(), "{m:?}");
        }
    }

    #[test]
    fn frames_split_anywhere() {
        let stream = br#"{"id":1,"method":"echo","params":["}{\"x"]} [1,2]{"a":{"b":[]}}"#;
        for split in 0..stream.len() {
            let mut f = Framer::new(1 << 20);
            let mut out = Vec::new();
            f.push(&stream[..split]);
            while let Some(v) = f.next().unwrap() {
                out.push(v);
            }
            // The rest as a reader appends it to the buffer.
            f.read_buffer(1).extend_from_slice(&stream[split..]);
            while let Some(v) = f.next().unwrap() {
                out.push(v);
            }
            assert_eq!(out, vec![json!({"id":1,"method":"echo","params":["}{\"x"]}), json!([1, 2]), json!({"a":{"b":[]}})]);
            assert_eq!(f.pending(), 0);
        }
    }

    /// A `transact` request's params and their elements, as a tree reads
    /// them; anything of another shape is left to the usual parse.
    #[test]
    fn transact_requests_read_in_one_pass() {
        let frame = br#"{"method":"transact", "params": [ "DB" ,{"op":"insert","table":"T","row":{"a":[1,2]}},
            {"op" : "comment", "comment":"x]"} ] ,"id":[7]}"#;
        let r = transact_request(frame).unwrap();
        assert_eq!(r.id, json!([7]));
        let tree: Json = serde_json::from_str(r.params).unwrap();
        assert_eq!(Json::Array(r.found.items_json(r.params).unwrap()), tree);
        assert!(matches!(&r.found.ops, crate::txn::FoundOps::Split(ops) if ops.len() == 2));
        // A number with an exponent in range is read as any other.
        assert!(transact_request(br#"{"method":"transact","params":["DB",{"op":"comment","x":1.5e10,"y":"1e999"}],"id":1}"#).is_some());
        // Operations found at their places (one that is not an object, or
        // many), or split after they were found (a few in a large message).
        let many = |n: usize, pad: usize| {
            let op = format!(r#"{{"op":"comment","comment":"{}"}}"#, "x".repeat(pad));
            format!(r#"{{"id":1,"method":"transact","params":["DB",{}]}}"#, vec![op; n].join(","))
        };
        let not_object = br#"{"id":1,"method":"transact","params":["DB",{"op":"comment"}, 5]}"#.to_vec();
        for (frame, split, ops) in [(not_object, false, 2), (many(300, 0).into_bytes(), false, 300), (many(100, 400).into_bytes(), true, 100)] {
            let r = transact_request(&frame).unwrap();
            let tree: Json = serde_json::from_str(r.params).unwrap();
            assert_eq!(Json::Array(r.found.items_json(r.params).unwrap()), tree);
            let found = match &r.found.ops {
                crate::txn::FoundOps::At(at) => (false, at.len()),
                crate::txn::FoundOps::Split(s) => (true, s.len()),
            };
            assert_eq!(found, (split, ops));
        }
        for other in [
            &br#"{"method":"transact","params":[],"id":1}"#[..],
            br#"{"method":"transact","params":{"a":1},"id":1}"#,
            br#"{"method":"echo","params":["x"],"id":1}"#,
            br#"{"method":"transact","params":["DB"]}"#,
            br#"{"method":"transact","params":["DB"],"id":1,"extra":2}"#,
            br#"{"method":"transact","params":["D\u0000B"],"id":1}"#,
            br#"{"method":"transact","params":["DB",],"id":1}"#,
            br#"{"method":"transact","params":["DB"],"id":1"#,
            // Numbers the usual parse refuses, anywhere.
            br#"{"method":"transact","params":["DB",{"op":"comment","x":1e400}],"id":1}"#,
            br#"{"method":"transact","params":["DB",{"op":"insert","table":"T","row":{"a":-2E+999}}],"id":1}"#,
            br#"{"method":"transact","params":["DB"],"id":1e999}"#,
        ] {
            assert!(transact_request(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
    }

    /// The word-at-a-time search finds what a byte-by-byte one finds, at
    /// every length and position, with other bytes on either side.
    #[test]
    fn string_stops_as_bytewise() {
        for len in 0..80 {
            for stop in [None, Some(b'"'), Some(b'\\')] {
                for pos in 0..len.max(1) {
                    let mut bytes: Vec<u8> = (0..len).map(|i| b"a\x00\x7f\xff!#"[i % 6]).collect();
                    if let (Some(b), true) = (stop, pos < len) {
                        bytes[pos] = b;
                        // A second stop later must not be the one found.
                        if pos + 3 < len {
                            bytes[pos + 3] = b'"';
                        }
                    }
                    let want = bytes.iter().position(|&b| b == b'"' || b == b'\\');
                    assert_eq!(string_stop(&bytes), want, "len {len} stop {stop:?} at {pos}");
                }
            }
        }
    }

    #[test]
    fn rejects_junk_and_oversize() {
        let mut f = Framer::new(1 << 20);
        f.push(b"  x");
        assert!(matches!(f.next(), Err(FrameError::Junk { offset: 2, .. })));
        let mut f = Framer::new(8);
        f.push(b"{\"aaaaaaaaaaaa");
        assert!(matches!(f.next(), Err(FrameError::TooLong { .. })));
        let mut f = Framer::new(100);
        f.push(b"{\"a\":tru}");
        assert!(matches!(f.next(), Err(FrameError::Json(_))));
        // Mismatched brackets and stray words fail without waiting for more.
        let mut f = Framer::new(100);
        f.push(b"{\"method\": \"echo\", \"params\": [}");
        assert!(matches!(f.next(), Err(FrameError::Syntax { .. })));
        let mut f = Framer::new(100);
        f.push(b"{\"method\": echo");
        assert!(matches!(f.next(), Err(FrameError::Syntax { .. })));
        let mut f = Framer::new(100);
        f.push(br#"["a\u0000b"]"#);
        assert_eq!(f.next(), Err(FrameError::NullByte));
        let mut f = Framer::new(100);
        f.push(br#"["a\\u0000b"]"#);
        assert_eq!(f.next(), Ok(Some(json!(["a\\u0000b"]))));
    }

    #[test]
    fn message_shapes() {
        let m = Message::from_json(json!({"id": 1, "method": "echo", "params": []})).unwrap();
        assert_eq!(m, Message::Request { method: "echo".into(), params: vec![], id: json!(1) });
        let m = Message::from_json(json!({"id": null, "method": "update", "params": [1]})).unwrap();
        assert!(matches!(m, Message::Notification { .. }));
        let m = Message::from_json(json!({"id": 3, "result": {}, "error": null})).unwrap();
        assert!(matches!(m, Message::Reply { .. }));
        assert_eq!(Message::from_json(json!([1])), Err(MessageError::NotObject));
        assert_eq!(
            Message::from_json(json!({"id": 1, "method": "x", "params": {}})),
            Err(MessageError::ParamsNotArray)
        );
        assert!(Message::from_json(json!({"id": 1, "method": "x"})).is_err());
        assert!(Message::from_json(json!({"id": 1, "method": "x", "params": [], "extra": 1})).is_err());
        for m in [
            Message::Request { method: "m".into(), params: vec![json!(1)], id: json!("a") },
            Message::Notification { method: "n".into(), params: vec![] },
            Message::Reply { result: json!([1]), id: json!(2) },
            Message::Error { error: json!("unknown method"), id: json!(2) },
        ] {
            assert_eq!(Message::from_json(m.to_json()).unwrap(), m);
        }
        let bytes = reply_bytes(&json!({"a": 1}), &json!(7));
        assert_eq!(serde_json::from_slice::<Json>(&bytes).unwrap(), json!({"id": 7, "result": {"a": 1}, "error": null}));
    }
}
