using System.Globalization;
using System.Text;

namespace SelfAlign.Text.Jinja;

/// <summary>A token of template source: literal text, or one token inside a tag.</summary>
internal enum TokenKind { Text, OutputStart, BlockStart, TagEnd, Name, String, Integer, Float, Operator, End }

internal readonly record struct Token(TokenKind Kind, string Value, int Line);

/// <summary>
/// Splits template source into text and tag tokens with the whitespace rules Hugging Face renders
/// chat templates with: <c>trim_blocks</c> and <c>lstrip_blocks</c> on, and the <c>-</c> / <c>+</c>
/// modifiers of each tag.
/// </summary>
internal static class Lexer
{
    static readonly string[] Operators = ["==", "!=", "<=", ">=", "//", "**", "<", ">", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "="];

    public static List<Token> Tokenize(string source)
    {
        var tokens = new List<Token>();
        int i = 0, line = 1;
        bool trimNextNewline = false, stripNextWhitespace = false;
        while (i < source.Length)
        {
            int open = FindTagStart(source, i);
            string text = source[i..(open < 0 ? source.Length : open)];
            // Whether the text starts a line: lstrip_blocks only strips indentation at a line start.
            bool lineStart = i == 0;
            if (stripNextWhitespace) text = text.TrimStart();
            else if (trimNextNewline && text.StartsWith('\n')) (text, lineStart) = (text[1..], true);
            else if (trimNextNewline && text.StartsWith("\r\n")) (text, lineStart) = (text[2..], true);
            trimNextNewline = stripNextWhitespace = false;
            if (open < 0)
            {
                if (text.Length > 0) tokens.Add(new Token(TokenKind.Text, text, line));
                break;
            }

            char kind = source[open + 1];
            char modifier = open + 2 < source.Length ? source[open + 2] : '\0';
            if (modifier == '-') text = text.TrimEnd();
            else if (kind != '{' && modifier != '+') text = LStripBlock(text, lineStart);
            if (text.Length > 0) tokens.Add(new Token(TokenKind.Text, text, line));
            line += Count(source, i, open);

            int bodyStart = open + 2 + (modifier is '-' or '+' ? 1 : 0);
            string close = kind switch { '{' => "}}", '%' => "%}", _ => "#}" };
            if (kind == '#')
            {
                int end = source.IndexOf(close, bodyStart, StringComparison.Ordinal);
                if (end < 0) throw new TemplateException($"line {line}: unclosed comment");
                line += Count(source, open, end);
                stripNextWhitespace = source[end - 1] == '-';
                trimNextNewline = !stripNextWhitespace && source[end - 1] != '+';
                i = end + 2;
                continue;
            }
            tokens.Add(new Token(kind == '{' ? TokenKind.OutputStart : TokenKind.BlockStart, "", line));
            i = LexTag(source, bodyStart, close, ref line, tokens, out char endModifier);
            stripNextWhitespace = endModifier == '-';
            trimNextNewline = kind == '%' && endModifier != '-' && endModifier != '+';
        }
        tokens.Add(new Token(TokenKind.End, "", line));
        return tokens;
    }

    static int FindTagStart(string s, int from)
    {
        for (int i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
            if (s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    static int Count(string s, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to; i++) if (s[i] == '\n') n++;
        return n;
    }

    // lstrip_blocks: spaces and tabs between the line start and a block tag go.
    static string LStripBlock(string text, bool lineStart)
    {
        int end = text.Length;
        while (end > 0 && text[end - 1] is ' ' or '\t') end--;
        return (end == 0 && lineStart) || (end > 0 && text[end - 1] == '\n') ? text[..end] : text;
    }

    static int LexTag(string s, int i, string close, ref int line, List<Token> tokens, out char endModifier)
    {
        while (i < s.Length)
        {
            char c = s[i];
            if (c == '\n') { line++; i++; continue; }
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if ((c is '-' or '+') && string.CompareOrdinal(s, i + 1, close, 0, 2) == 0)
            {
                endModifier = c;
                tokens.Add(new Token(TokenKind.TagEnd, close, line));
                return i + 3;
            }
            if (string.CompareOrdinal(s, i, close, 0, 2) == 0)
            {
                endModifier = '\0';
                tokens.Add(new Token(TokenKind.TagEnd, close, line));
                return i + 2;
            }
            if (char.IsLetter(c) || c == '_')
            {
                int start = i;
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_')) i++;
                tokens.Add(new Token(TokenKind.Name, s[start..i], line));
            }
            else if (char.IsAsciiDigit(c))
            {
                int start = i;
                while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '_')) i++;
                bool isFloat = i + 1 < s.Length && s[i] == '.' && char.IsAsciiDigit(s[i + 1]);
                if (isFloat) for (i++; i < s.Length && char.IsAsciiDigit(s[i]); i++) { }
                if (i < s.Length && s[i] is 'e' or 'E')
                {
                    isFloat = true;
                    i++;
                    if (i < s.Length && s[i] is '+' or '-') i++;
                    while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                }
                tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, s[start..i].Replace("_", ""), line));
            }
            else if (c is '\'' or '"')
            {
                tokens.Add(new Token(TokenKind.String, ReadString(s, ref i, ref line), line));
            }
            else
            {
                string op = Operators.FirstOrDefault(o => string.CompareOrdinal(s, i, o, 0, o.Length) == 0)
                    ?? throw new TemplateException($"line {line}: unexpected character '{c}'");
                tokens.Add(new Token(TokenKind.Operator, op, line));
                i += op.Length;
            }
        }
        throw new TemplateException($"line {line}: tag not closed with '{close}'");
    }

    // Python string literal rules, as Jinja uses them.
    static string ReadString(string s, ref int i, ref int line)
    {
        char quote = s[i++];
        var sb = new StringBuilder();
        while (i < s.Length && s[i] != quote)
        {
            char c = s[i++];
            if (c == '\n') line++;
            if (c != '\\' || i >= s.Length) { sb.Append(c); continue; }
            char e = s[i++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '0': sb.Append('\0'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'u' when i + 4 <= s.Length:
                    sb.Append((char)int.Parse(s.AsSpan(i, 4), NumberStyles.HexNumber)); i += 4; break;
                case 'x' when i + 2 <= s.Length:
                    sb.Append((char)int.Parse(s.AsSpan(i, 2), NumberStyles.HexNumber)); i += 2; break;
                case '\\' or '\'' or '"': sb.Append(e); break;
                case '\n': line++; break;
                default: sb.Append('\\').Append(e); break;
            }
        }
        if (i >= s.Length) throw new TemplateException($"line {line}: unterminated string");
        i++;
        return sb.ToString();
    }
}
