//! Unit tests of the stdio line reader and its syntax check.

use super::check::check_json;
use super::*;

#[test]
fn lines_are_read_whole_and_overlong_ones_dropped() {
    let mut input = std::io::Cursor::new(b"{\"a\":1}\r\nnext\npartial".to_vec());
    let mut line = Vec::new();
    assert!(matches!(
        read_line(&mut input, &mut line),
        Ok(Line::Complete)
    ));
    assert_eq!(line, b"{\"a\":1}\r\n");
    line.clear();
    assert!(matches!(
        read_line(&mut input, &mut line),
        Ok(Line::Complete)
    ));
    assert_eq!(line, b"next\n");
    line.clear();
    assert!(matches!(read_line(&mut input, &mut line), Ok(Line::Eof)));
    let mut long = vec![b'x'; MAX_LINE_BYTES + 1];
    long.push(b'\n');
    let mut input = std::io::BufReader::new(std::io::Cursor::new(long));
    let mut line = Vec::new();
    assert!(matches!(
        read_line(&mut input, &mut line),
        Ok(Line::TooLong)
    ));
    assert!(line.is_empty());
}

#[test]
fn lines_rmcp_would_drop_as_syntax_errors_are_caught() {
    // A ping whose params carry `x`: valid in shape, so only syntax can fail it.
    let ping = |x: &[u8]| {
        let mut line = br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"#.to_vec();
        line.extend_from_slice(x);
        line.extend_from_slice(b"}}");
        line
    };
    let nested =
        |depth: usize| ping(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).as_bytes());
    let mut trailing = ping(b"1");
    trailing.extend_from_slice(b" trailing");
    let rejected = [
        ping(b"\"\xff\xfe\""),
        ping(b"\"caf\xc3\""),
        nested(200),
        ping(br#""\ud800""#),
        ping(b"1e400"),
        trailing,
    ];
    for line in &rejected {
        let line = line.as_slice();
        assert!(
            check_json(line).is_err(),
            "{}",
            String::from_utf8_lossy(line)
        );
        // What rmcp does with it: a syntax error, which it drops without an answer.
        let rmcp = serde_json::from_slice::<rmcp::model::ClientJsonRpcMessage>(line);
        assert!(
            matches!(
                rmcp.map_err(|e| e.classify()),
                Err(serde_json::error::Category::Syntax)
            ),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    // The nesting limits agree exactly: the deepest line rmcp takes passes, one more level not.
    let mut deepest = 0;
    for depth in 1..140 {
        let line = nested(depth);
        let rmcp_ok = serde_json::from_slice::<rmcp::model::ClientJsonRpcMessage>(&line).is_ok();
        assert_eq!(check_json(&line).is_ok(), rmcp_ok, "depth {depth}");
        if rmcp_ok {
            deepest = depth;
        }
    }
    assert!((100..140).contains(&deepest), "{deepest}");
    assert!(check_json(&ping(b"\"\xef\xbb\xbf\"")).is_ok());
    assert!(check_json("{\"x\":\"caf\u{e9} \\u00e9 \\ud83d\\ude00\"}".as_bytes()).is_ok());
}
