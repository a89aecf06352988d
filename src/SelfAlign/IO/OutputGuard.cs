using System.Text.Json.Nodes;
using SelfAlign.Data;

namespace SelfAlign.IO;

/// <summary>A file or folder a command reads, under the name its users know it by ("prompts", "model").</summary>
public readonly record struct NamedInput(string Name, string? Path);

/// <summary>An output path holds something the command did not write, or is one of its inputs; nothing was written.</summary>
public sealed class OutputConflictException(string message) : Exception(message);

/// <summary>
/// The rule that no command destroys data. Before it writes anything, a command claims its
/// output: a file (marked as its own by <c>&lt;file&gt;.manifest.json</c>) or a folder (marked by
/// <c>manifest.json</c> inside). A claim fails when the output is one of the inputs, or holds data
/// without this command's manifest, unless the user asked to overwrite; an output the command
/// made is resumed (or, with overwrite, started again). Claiming also removes the temporary files
/// that an interrupted atomic write left in the output.
/// </summary>
public static class OutputGuard
{
    /// <summary>The manifest of a folder output.</summary>
    public const string FolderManifest = "manifest.json";

    /// <summary>The manifest that marks <paramref name="file"/> as a command's output.</summary>
    public static string ManifestOf(string file) => file + ".manifest.json";

    /// <summary>Claims the file <paramref name="file"/> (and the <paramref name="companions"/> written beside it) for <paramref name="command"/>.</summary>
    public static void ClaimFile(string file, string command, IEnumerable<NamedInput> inputs, bool overwrite, params string[] companions)
    {
        file = Path.GetFullPath(file);
        foreach (var input in inputs)
            if (input.Path is not null && SamePath(file, input.Path))
                throw new OutputConflictException($"{file}: is the {input.Name} this command reads; write the output to another path");
        if (Directory.Exists(file)) throw new OutputConflictException($"{file}: is a folder; this output is a file");
        string manifest = ManifestOf(file);
        var held = companions.Select(Path.GetFullPath).Prepend(manifest).Prepend(file).Where(HoldsData).ToList();
        if (overwrite) foreach (var path in held) File.Delete(path);
        else if (held.Count > 0 && Owner(manifest) is var owner && owner != command) throw Foreign(held[0], command, owner, manifest);
        AtomicFile.RemoveStaleTemps(Path.GetDirectoryName(file)!, [file, manifest, .. companions.Select(Path.GetFullPath)]);
    }

    /// <summary>Claims the folder <paramref name="folder"/> for <paramref name="command"/>.</summary>
    public static void ClaimFolder(string folder, string command, IEnumerable<NamedInput> inputs, bool overwrite)
    {
        folder = Path.GetFullPath(folder);
        foreach (var input in inputs)
            if (input.Path is not null && (SamePath(folder, input.Path) || Inside(input.Path, folder)))
                throw new OutputConflictException($"{folder}: {(SamePath(folder, input.Path) ? "is" : "holds")} the {input.Name} this command reads; write the output to another folder");
        if (File.Exists(folder)) throw new OutputConflictException($"{folder}: is a file; this output is a folder");
        if (!Directory.Exists(folder)) return;
        if (overwrite)
        {
            if (Inside(Environment.CurrentDirectory, folder) || SamePath(Environment.CurrentDirectory, folder))
                throw new OutputConflictException($"{folder}: holds the current folder; --overwrite will not delete it");
            Directory.Delete(folder, recursive: true);
            return;
        }
        string manifest = Path.Combine(folder, FolderManifest);
        if (Directory.EnumerateFileSystemEntries(folder).Any() && Owner(manifest) is var owner && owner != command) throw Foreign(folder, command, owner, manifest);
        AtomicFile.RemoveStaleTemps(folder, null);
    }

    /// <summary>The command a manifest names, or null when there is no manifest; a damaged manifest fails with file:line.</summary>
    public static string? Owner(string manifest) => RunManifest.Read(manifest) is { } m
        ? m["command"] is JsonValue v && v.TryGetValue(out string? command) ? command
            : throw new DataFormatException(manifest, 1, "not a SelfAlign manifest (no 'command'); move it away or delete it")
        : null;

    static OutputConflictException Foreign(string path, string command, string? owner, string manifest) => new(owner is null
        ? $"{path}: already exists and was not written by 'selfalign {command}' (there is no {Path.GetFileName(manifest)}); choose another output, or pass --overwrite to replace it"
        : $"{path}: was written by 'selfalign {owner}', not '{command}'; choose another output, or pass --overwrite to replace it");

    static bool HoldsData(string path) => File.Exists(path) && new FileInfo(path).Length > 0;

    /// <summary>True when both name the same file or folder (links followed).</summary>
    public static bool SamePath(string a, string b) => string.Equals(Real(a), Real(b), StringComparison.Ordinal);

    /// <summary>True when <paramref name="path"/> lies below <paramref name="folder"/>.</summary>
    static bool Inside(string path, string folder) =>
        Real(path).StartsWith(Real(folder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    static string Real(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (full.Length == 0) return "/";
        FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
        return info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full : full;
    }
}
