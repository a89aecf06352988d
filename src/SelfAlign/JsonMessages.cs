using System.Text.Json;
using System.Text.RegularExpressions;

namespace SelfAlign;

/// <summary>System.Text.Json's messages, cut to what a user needs: the position goes into the caller's <c>file:line</c>, not into the sentence.</summary>
public static partial class JsonMessages
{
    /// <summary>The message without the " Path: ... | LineNumber: ... | BytePositionInLine: ..." that System.Text.Json appends.</summary>
    public static string Describe(JsonException e) => PositionSuffix().Replace(e.Message, "").TrimEnd();

    /// <summary>"line N, column M: message" for a syntax error in a whole JSON file.</summary>
    public static string WithPosition(JsonException e) =>
        $"invalid JSON at line {(e.LineNumber ?? 0) + 1}{(e.BytePositionInLine is long c ? $", column {c + 1}" : "")}: {Describe(e)}";

    [GeneratedRegex(@"\s*(Path: .*|LineNumber: .*)$")]
    private static partial Regex PositionSuffix();
}
