using System.Text;

namespace SelfAlign.Text;

/// <summary>
/// The byte-level alphabet of GPT-2 style BPE: every byte maps to one printable character
/// (printable Latin-1 bytes to themselves, the rest to U+0100 upwards), so that any UTF-8 text is
/// a string over 256 symbols and never needs an unknown token.
/// </summary>
public static class ByteLevel
{
    static readonly char[] ByteToChar = BuildAlphabet();
    static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);

    static char[] BuildAlphabet()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    /// <summary>The symbol that stands for <paramref name="b"/>.</summary>
    public static char Symbol(byte b) => ByteToChar[b];

    /// <summary>The byte-level form of <paramref name="text"/> (its UTF-8 bytes, one symbol each).</summary>
    public static string Encode(string text) =>
        string.Create(Encoding.UTF8.GetByteCount(text), text, static (chars, t) =>
        {
            var bytes = Encoding.UTF8.GetBytes(t);
            for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        });

    /// <summary>Appends the bytes a byte-level token stands for; false if it has a symbol outside the alphabet.</summary>
    public static bool TryAppendBytes(string token, List<byte> bytes)
    {
        foreach (char c in token)
        {
            if (!CharToByte.TryGetValue(c, out byte b)) return false;
            bytes.Add(b);
        }
        return true;
    }
}
