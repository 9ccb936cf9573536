use super::*;

fn mail(headers: &str, body: &str) -> Vec<u8> {
    format!("{headers}\r\n\r\n{body}")
        .replace('\n', "\r\n")
        .replace("\r\r\n", "\r\n")
        .into_bytes()
}

#[test]
fn a_plain_mail_gives_its_sender_subject_text_and_message_id() {
    let m = parse(&mail(
        "From: Ann Lee <Ann@Example.com>\nTo: support@acme.test\nSubject: Refund for order 42\nMessage-ID: <abc.1@mail.example.com>",
        "I was charged twice.",
    ));
    assert_eq!(
        m.from,
        Some(MailFrom {
            address: "ann@example.com".into(),
            name: Some("Ann Lee".into())
        })
    );
    assert_eq!(m.subject, "Refund for order 42");
    assert_eq!(m.text, "I was charged twice.");
    assert_eq!(m.key, "<abc.1@mail.example.com>");
    assert_eq!(m.message_id.as_deref(), Some("<abc.1@mail.example.com>"));
    assert!(m.automatic.is_none() && m.unreadable.is_none() && m.notes.is_empty());
}

#[test]
fn quoted_printable_base64_and_encoded_words_are_decoded() {
    let m = parse(&mail(
        "From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.com>\nSubject: =?ISO-8859-1?Q?R=FCckerstattung?=\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"",
        "--b1\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe aus M=FCnchen\n--b1\nContent-Type: application/pdf; name=\"rechnung.pdf\"\nContent-Disposition: attachment; filename=\"rechnung.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b1--\n",
    ));
    assert_eq!(m.subject, "Rückerstattung");
    assert_eq!(m.from.expect("from").name.as_deref(), Some("Jürgen"));
    assert_eq!(m.text, "Grüße aus München");
    assert_eq!(
        m.attachments,
        vec![Attachment {
            name: Some("rechnung.pdf".into()),
            content_type: "application/pdf".into(),
            size: 9,
        }]
    );
}

#[test]
fn an_html_only_mail_is_read_as_text_with_the_knowledge_base_extractor() {
    let m = parse(&mail(
        "From: a@example.com\nSubject: hi\nContent-Type: text/html; charset=utf-8",
        "<html><body><h1>Order</h1><p>My <b>parcel</b> is late.</p><script>x()</script></body></html>",
    ));
    assert!(m.text.contains("# Order"), "{}", m.text);
    assert!(
        m.text.contains("parcel") && m.text.contains("is late"),
        "{}",
        m.text
    );
    assert!(!m.text.contains('<'), "{}", m.text);
}

#[test]
fn the_quoted_history_below_the_reply_cut_is_left_out() {
    let m = parse(&mail(
        "From: a@example.com\nSubject: Re: x",
        "Thanks!\n\nOn Tue, 1 Dec 2026, Acme <support@acme.test> wrote:\n> old text\n",
    ));
    assert_eq!(m.text, "Thanks!");
    assert!(m.notes.iter().any(|n| n.contains("quoted history")));
}

#[test]
fn in_reply_to_then_references_newest_first_are_what_the_mail_answers() {
    let m = parse(&mail(
        "From: a@example.com\nSubject: Re: x\nMessage-ID: <3@x>\nIn-Reply-To: <2@acme.test>\nReferences: <1@x> <2@acme.test>",
        "ok",
    ));
    assert_eq!(m.refs, vec!["<2@acme.test>".to_owned(), "<1@x>".to_owned()]);
}

#[test]
fn a_mail_without_message_id_is_keyed_by_a_hash_of_its_headers() {
    let raw = mail("From: a@example.com\nSubject: no id", "body one");
    let a = parse(&raw);
    assert!(
        a.key.starts_with("sha256:") && a.key.len() == 7 + 64,
        "{}",
        a.key
    );
    assert_eq!(
        a.key,
        parse(&mail("From: a@example.com\nSubject: no id", "other body")).key
    );
    assert_eq!(
        a.key,
        parse_headers(&raw[..raw.len() - 8]).key,
        "headers alone give the same key"
    );
}

#[test]
fn auto_replies_and_bounces_are_recognised() {
    for h in [
        "Auto-Submitted: auto-replied",
        "Precedence: bulk",
        "Precedence: auto_reply",
        "X-Autoreply: yes",
    ] {
        let m = parse(&mail(
            &format!("From: a@example.com\nSubject: Out of office\n{h}"),
            "away",
        ));
        assert!(matches!(m.automatic, Some(Automatic::AutoReply(_))), "{h}");
    }
    let m = parse(&mail(
        "From: a@example.com\nSubject: x\nAuto-Submitted: no",
        "hi",
    ));
    assert!(m.automatic.is_none());
    let m = parse(&mail(
        "From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail",
        "could not deliver",
    ));
    assert!(matches!(m.automatic, Some(Automatic::Bounce(_))));
    let m = parse(&mail(
        "From: postmaster@example.com\nSubject: failure\nContent-Type: multipart/report; report-type=delivery-status; boundary=z",
        "--z\nContent-Type: text/plain\n\nfailed\n--z--\n",
    ));
    assert!(matches!(m.automatic, Some(Automatic::Bounce(_))));
}

#[test]
fn an_unknown_charset_and_broken_mime_are_noted_and_the_text_still_read() {
    let m = parse(&mail(
        "From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=x-klingon",
        "Qapla' my order",
    ));
    assert!(m.text.contains("my order"));
    assert!(
        m.notes
            .iter()
            .any(|n| n.contains("unknown charset x-klingon")),
        "{:?}",
        m.notes
    );
    let m = parse(&mail(
        "From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary=\"never\"",
        "--never\nContent-Type: text/plain\n\nthe part never ends",
    ));
    assert!(m.text.contains("the part never ends"), "{}", m.text);
}

#[test]
fn no_from_and_garbage_are_said_so() {
    let m = parse(&mail("Subject: who am I", "text"));
    assert!(m.from.is_none());
    let m = parse(b"");
    assert!(m.unreadable.is_some());
}

#[test]
fn a_text_longer_than_a_message_is_cut_with_a_marker() {
    let long = "word ".repeat(MAX_BODY);
    let m = parse(&mail("From: a@example.com\nSubject: long", &long));
    assert_eq!(m.text.chars().count(), MAX_BODY);
    assert!(m.text.ends_with(CUT_MARKER));
    assert!(m.notes.iter().any(|n| n.contains("cut at")));
}
