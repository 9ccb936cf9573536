//! Card numbers: 13 to 19 digits that pass the Luhn check, written together or in groups
//! separated by single spaces or dashes (`4242 4242 4242 4242`, `3782-822463-10005`).

use super::Span;

pub(super) const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;

/// Finds card numbers. Digits glued to letters (`ch_3Mml…`, `order4242…`) are part of a word,
/// not a number. Within a run of groups, the longest stretch of consecutive groups that is a
/// card number is taken, so a number written next to another (`no. 12 4242 4242 4242 4242`)
/// is still found.
pub(super) fn numbers(text: &str, out: &mut Vec<Span>) {
    for run in groups(text)
        .into_iter()
        .filter(|r| !hyphenated_word(text, r))
    {
        let mut from = 0;
        while from < run.len() {
            let mut digits = 0;
            let mut longest = None;
            for to in from + 1..=run.len() {
                digits += run[to - 1].1 - run[to - 1].0;
                if digits > MAX_DIGITS {
                    break;
                }
                if digits >= MIN_DIGITS && luhn(text, &run[from..to]) {
                    longest = Some(to);
                }
            }
            match longest {
                Some(to) => {
                    out.push(Span {
                        start: run[from].0,
                        end: run[to - 1].1,
                        kind: "a card number",
                    });
                    from = to;
                }
                None => from += 1,
            }
        }
    }
}

/// True when `run` is joined by a dash to a word with letters and digits on either side: part of
/// a hyphenated identifier such as a UUID (`…-7abc-8123-424242424242`) or a SKU, not a number of
/// its own. (`card-4242…`, joined to a plain word, is still a number.)
fn hyphenated_word(text: &str, run: &[(usize, usize)]) -> bool {
    let (Some(&(start, _)), Some(&(_, end))) = (run.first(), run.last()) else {
        return false;
    };
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let mixed = |word: &str| {
        !word.is_empty()
            && word.chars().any(|c| c.is_ascii_digit())
            && word.chars().any(|c| c.is_ascii_alphabetic())
    };
    let left = text[..start].strip_suffix('-').is_some_and(|before| {
        let word_start = before.rfind(|c: char| !alnum(c)).map_or(0, |i| i + 1);
        mixed(&before[word_start..])
    });
    let right = text[end..].strip_prefix('-').is_some_and(|after| {
        let word_end = after.find(|c: char| !alnum(c)).unwrap_or(after.len());
        mixed(&after[..word_end])
    });
    left || right
}

/// Runs of digit groups (byte ranges) separated by one space or dash. A group touching a letter
/// ends the run and is left out.
fn groups(text: &str) -> Vec<Vec<(usize, usize)>> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut run: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let glued = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphabetic());
        let before = start.checked_sub(1).and_then(|j| bytes.get(j));
        if glued(before) || glued(bytes.get(i)) {
            if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
            continue;
        }
        let continues = run
            .last()
            .is_some_and(|&(_, end)| start == end + 1 && matches!(bytes[end], b' ' | b'-'));
        if !continues && !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
        run.push((start, i));
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// The Luhn check over the digits of `groups`, read from the last one back.
fn luhn(text: &str, groups: &[(usize, usize)]) -> bool {
    let digits = groups
        .iter()
        .rev()
        .flat_map(|&(s, e)| text.as_bytes()[s..e].iter().rev())
        .map(|b| u32::from(b - b'0'));
    let sum: u32 = digits
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (true, dd) if dd > 9 => dd - 9,
            (true, dd) => dd,
            (false, _) => d,
        })
        .sum();
    sum.is_multiple_of(10)
}
