//! Amounts as people read them: Stripe counts in the currency's smallest unit (cents for USD,
//! yen for JPY, fils for KWD), so `1250 usd` is "$12.50" and `1250 jpy` is "¥1,250".

/// Currencies without a minor unit (https://docs.stripe.com/currencies#zero-decimal).
const ZERO_DECIMAL: [&str; 16] = [
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Currencies with three decimals (https://docs.stripe.com/currencies#three-decimal).
const THREE_DECIMAL: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];

/// Symbols for currencies whose symbol is unambiguous; others are written as a code suffix.
const SYMBOLS: [(&str, &str); 9] = [
    ("usd", "$"),
    ("eur", "€"),
    ("gbp", "£"),
    ("jpy", "¥"),
    ("inr", "₹"),
    ("krw", "₩"),
    ("cad", "CA$"),
    ("aud", "A$"),
    ("nzd", "NZ$"),
];

/// How many decimals `currency` (a lower-case ISO code) has.
pub fn decimals(currency: &str) -> u32 {
    let c = currency.to_ascii_lowercase();
    if ZERO_DECIMAL.contains(&c.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&c.as_str()) {
        3
    } else {
        2
    }
}

/// `amount` in `currency`'s smallest unit, written for a person: "$12.50", "¥1,250",
/// "12.345 KWD", "-€3.00".
pub fn format(amount: i64, currency: &str) -> String {
    let code = currency.to_ascii_lowercase();
    let places = decimals(&code);
    let unit = 10u64.pow(places);
    let abs = amount.unsigned_abs();
    let whole = group_thousands(abs / unit);
    let number = if places == 0 {
        whole
    } else {
        format!("{whole}.{:0width$}", abs % unit, width = places as usize)
    };
    let sign = if amount < 0 { "-" } else { "" };
    match SYMBOLS.iter().find(|(c, _)| *c == code) {
        Some((_, symbol)) => format!("{sign}{symbol}{number}"),
        None => format!("{sign}{number} {}", code.to_ascii_uppercase()),
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn amounts_are_written_in_the_currencys_own_units() {
        assert_eq!(format(1250, "usd"), "$12.50");
        assert_eq!(format(5, "usd"), "$0.05");
        assert_eq!(format(123_456_789, "eur"), "€1,234,567.89");
        assert_eq!(format(1250, "jpy"), "¥1,250");
        assert_eq!(format(500, "krw"), "₩500");
        assert_eq!(format(12_345, "kwd"), "12.345 KWD");
        assert_eq!(format(1999, "sek"), "19.99 SEK");
        assert_eq!(format(-300, "gbp"), "-£3.00");
        assert_eq!(format(0, "usd"), "$0.00");
    }
}
