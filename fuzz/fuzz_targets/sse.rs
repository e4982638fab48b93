//! Server-Sent Events: any bytes, in any chunking, give the same events. The first byte picks
//! the chunk size.
#![no_main]

use codex_auth::exec::sse::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&size, stream)) = data.split_first() else {
        return;
    };
    let whole = Parser::new().push(stream);
    let mut parser = Parser::new();
    let mut chunked = Vec::new();
    for chunk in stream.chunks(usize::from(size).max(1)) {
        chunked.extend(parser.push(chunk));
    }
    parser.finish();
    assert_eq!(whole, chunked);
    assert!(
        parser.push(b"\n").is_empty(),
        "finish() forgets a cut-off event"
    );
});
