using System.Text.RegularExpressions;

namespace SelfAlign.IO;

/// <summary>
/// Writes whole files so that a reader (or a crash) never sees half of one: the content goes to a
/// temporary file beside the target (<c>&lt;name&gt;.&lt;pid&gt;.tmp</c>), which is then renamed over it.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Replaces <paramref name="path"/> with <paramref name="text"/> (UTF-8, no BOM).</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>Replaces <paramref name="path"/> with what <paramref name="write"/> writes.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        string temp = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary files that writes killed midway left in <paramref name="folder"/> (and
    /// its subfolders): those of processes no longer running. With <paramref name="targets"/>, only
    /// the temporaries of those files, and only in the folder itself.
    /// </summary>
    public static void RemoveStaleTemps(string folder, IReadOnlyCollection<string>? targets)
    {
        if (!Directory.Exists(folder)) return;
        var option = targets is null ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly;
        foreach (string temp in Directory.EnumerateFiles(folder, "*.tmp", option))
        {
            var match = TempName().Match(temp);
            if (!match.Success || (targets is not null && !targets.Contains(match.Groups["target"].Value))) continue;
            if (int.TryParse(match.Groups["pid"].Value, out int pid) && pid != Environment.ProcessId && !Running(pid)) File.Delete(temp);
        }
    }

    static bool Running(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^(?<target>.+)\.(?<pid>\d+)\.tmp$")]
    private static partial Regex TempName();
}
