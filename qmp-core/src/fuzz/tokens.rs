//! The arrays nested in a valid JSON text, found with the crate's one JSON cursor
//! ([`crate::json::Cursor`]), which also gives the oracle its tokens.

use crate::json::{Cursor, RawJson, Token};

/// At most this many arrays per frame are viewed as a schema.
const ARRAYS_MAX: usize = 32;

/// Call `f` with every array in the valid JSON text `bytes` (the first [`ARRAYS_MAX`]).
pub(super) fn for_each_array(bytes: &[u8], mut f: impl FnMut(RawJson<'_>)) {
    let mut found = 0;
    let mut tokens = Cursor::at(bytes, 0);
    loop {
        let at = {
            let mut peek = tokens;
            peek.skip_ws();
            peek.pos()
        };
        match tokens.token() {
            None => return,
            Some(Token::Punct(b'[')) => {
                let array = Cursor::at(bytes, at).value();
                f(RawJson::parse(array).expect("a nested array is valid"));
                found += 1;
                if found == ARRAYS_MAX {
                    return;
                }
            }
            Some(_) => {}
        }
    }
}
