//! Framing passes over a benchmark corpus, for counting instructions with a simulator
//! (`benches/instructions.sh` runs it): `passes CORPUS MODE N` builds the corpus, then
//! frames it N times through a 512 KiB buffer, with `Message::parse` of every frame
//! when MODE is `parse`. The instruction count of N passes minus that of 0 passes is
//! the cost of N passes alone, the same on every run of the same build.

use std::hint::black_box;

use qmp_core::frame::{Frame, FrameError, Framer};
use qmp_core::message::Message;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, corpus, mode, passes] = &args[..] else {
        eprintln!("usage: passes schema|events|chatter|pretty frame|parse N");
        std::process::exit(2);
    };
    let corpus = match corpus.as_str() {
        "schema" => qmp_benches::schema(),
        "events" => qmp_benches::events(),
        "chatter" => qmp_benches::chatter(),
        "pretty" => qmp_benches::pretty(),
        other => panic!("no corpus {other}"),
    };
    let parse = match mode.as_str() {
        "frame" => false,
        "parse" => true,
        other => panic!("no mode {other}"),
    };
    let passes: usize = passes.parse().expect("a number of passes");
    let mut framer = Framer::new(vec![0u8; 512 * 1024]);
    let mut messages = 0usize;
    for _ in 0..passes {
        framer.reset();
        let mut on_item = |item: Result<Frame<'_>, FrameError>| {
            let frame = item.expect("the corpora frame without errors");
            if parse {
                black_box(Message::parse(frame).expect("the corpora are QMP"));
            }
            messages += 1;
        };
        framer.feed(black_box(&corpus), &mut on_item);
        framer.finish();
        framer.drain(&mut on_item);
    }
    println!("{} bytes, {messages} messages", corpus.len());
}
