using System.Buffers;
using System.Text;

namespace SelfAlign.Data;

/// <summary>Strict UTF-8: a data file with bytes that are not UTF-8 fails at the first one, instead of turning it into U+FFFD.</summary>
public static class Utf8Text
{
    /// <summary>Throws a <see cref="DataFormatException"/> naming the line and column of the first invalid byte in <paramref name="bytes"/>, which start at line <paramref name="firstLine"/>.</summary>
    public static void Check(string file, ReadOnlySpan<byte> bytes, int firstLine = 1)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return;
        int at = 0;
        while (Rune.DecodeFromUtf8(bytes[at..], out _, out int consumed) == OperationStatus.Done) at += consumed;
        int lineStart = bytes[..at].LastIndexOf((byte)'\n') + 1;
        int line = firstLine + bytes[..at].Count((byte)'\n');
        throw new DataFormatException(file, line, $"not UTF-8 text (byte 0x{bytes[at]:X2} at column {at - lineStart + 1}); save the file as UTF-8");
    }

    /// <summary>The UTF-8 byte order mark some editors put first; it is not part of the data.</summary>
    public static ReadOnlySpan<byte> WithoutBom(ReadOnlySpan<byte> bytes) => bytes.StartsWith("\uFEFF"u8) ? bytes[3..] : bytes;
}
