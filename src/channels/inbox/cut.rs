//! The reply cut: a customer's reply usually carries the whole conversation below it ("On …
//! wrote:" and `>` lines, Outlook's "-----Original Message-----" or header block). Only the text
//! above the cut is the new message; the history is already on the ticket.

/// The text above the quoted history, and whether anything was cut. A mail that is nothing but
/// history (or where the cut would leave nothing) is kept whole.
pub fn reply_cut(text: &str) -> (&str, bool) {
    let lines: Vec<(usize, &str)> = line_starts(text);
    for (i, &(start, line)) in lines.iter().enumerate() {
        if starts_history(&lines, i, line) {
            let above = text[..start].trim_end();
            if above.trim().is_empty() {
                return (text, false);
            }
            return (above, true);
        }
    }
    (text, false)
}

/// Each line with the byte offset it starts at.
fn line_starts(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        out.push((start, line.trim_end_matches(['\r', '\n'])));
        start += line.len();
    }
    out
}

fn starts_history(lines: &[(usize, &str)], i: usize, line: &str) -> bool {
    let t = line.trim();
    let lower = t.to_lowercase();
    // "On Tue, 1 Dec 2026 at 10:00, Desk <support@acme.test> wrote:", possibly wrapped in two.
    if lower.starts_with("on ") {
        if lower.ends_with("wrote:") {
            return true;
        }
        if let Some((_, next)) = lines.get(i + 1)
            && next.trim().to_lowercase().ends_with("wrote:")
            && t.len() < 200
        {
            return true;
        }
    }
    if (lower.starts_with("le ") && (lower.ends_with("a écrit :") || lower.ends_with("a écrit:")))
        || (lower.starts_with("am ") && lower.ends_with("schrieb:"))
        || (lower.starts_with("el ") && lower.ends_with("escribió:"))
    {
        return true;
    }
    if t.starts_with("--") && lower.contains("original message") {
        return true;
    }
    // Outlook: a rule, or straight away a header block of the quoted mail.
    if t.len() >= 10 && t.chars().all(|c| c == '_') {
        return lines
            .get(i + 1)
            .is_some_and(|(_, l)| l.trim_start().starts_with("From:"));
    }
    if lower.starts_with("from:") {
        let block: Vec<String> = lines[i + 1..]
            .iter()
            .take(5)
            .map(|(_, l)| l.trim().to_lowercase())
            .collect();
        let has = |k: &str| block.iter().any(|l| l.starts_with(k));
        return (has("sent:") || has("date:")) && has("subject:");
    }
    // A block of `>` lines that runs to the end of the mail.
    if t.starts_with('>') {
        return lines[i..]
            .iter()
            .all(|(_, l)| l.trim().is_empty() || l.trim_start().starts_with('>'));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::reply_cut;

    #[test]
    fn gmail_style_history_below_on_wrote_is_cut() {
        let mail = "Thanks, that worked!\r\n\r\nOn Tue, 1 Dec 2026 at 10:00, Acme Support \
                    <support@acme.test> wrote:\r\n> Please try again.\r\n> \r\n> Ann\r\n";
        assert_eq!(reply_cut(mail), ("Thanks, that worked!", true));
    }

    #[test]
    fn an_on_wrote_line_wrapped_in_two_is_found() {
        let mail = "Still broken.\n\nOn Tue, 1 Dec 2026 at 10:00, Acme Support\n<support@acme.test> wrote:\n> Hi\n";
        assert_eq!(reply_cut(mail), ("Still broken.", true));
    }

    #[test]
    fn outlook_original_message_and_header_blocks_are_cut() {
        let a = "See below.\n\n-----Original Message-----\nFrom: Desk\nSent: Monday\nSubject: Re: x\n\nold";
        assert_eq!(reply_cut(a), ("See below.", true));
        let b = "Yes please.\n\nFrom: Acme Support <support@acme.test>\nSent: 1 December 2026 10:00\nTo: Ann\nSubject: RE: Refund [#4]\n\nold text";
        assert_eq!(reply_cut(b), ("Yes please.", true));
    }

    #[test]
    fn trailing_quoted_lines_are_cut_but_inline_quotes_are_kept() {
        let trailing = "My answer\n\n> your question\n> more\n";
        assert_eq!(reply_cut(trailing), ("My answer", true));
        let inline = "> you asked about the invoice\nIt is attached.\n> and the refund?\nDone.";
        assert_eq!(reply_cut(inline), (inline, false));
    }

    #[test]
    fn a_mail_that_is_only_history_or_has_none_is_kept_whole() {
        let only = "On Mon, Ann wrote:\n> hello\n";
        assert_eq!(reply_cut(only), (only, false));
        let plain = "My order 42 has not arrived. From: the shop's page, it said 2 days.";
        assert_eq!(reply_cut(plain), (plain, false));
    }
}
