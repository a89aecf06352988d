namespace SelfAlign.Text;

/// <summary>
/// A 64-bit FNV-1a hash of a string's UTF-16 code units. Seeds derived from ids and texts must not
/// change between runs or .NET versions, which <see cref="string.GetHashCode()"/> does.
/// </summary>
public static class StableHash
{
    /// <summary>The hash of <paramref name="s"/>.</summary>
    public static ulong Of(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) h = (h ^ c) * 1099511628211UL;
        return h;
    }
}
