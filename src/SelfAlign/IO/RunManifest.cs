using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SelfAlign.IO;

/// <summary>An output exists but was made with another configuration, so it cannot be resumed.</summary>
public sealed class ResumeMismatchException(string message) : Exception(message);

/// <summary>
/// The record of how an output was made: the command, its full configuration and the versions of
/// SelfAlign, TorchSharp and .NET. Written atomically beside the output before work starts; a
/// resumed run must present the same configuration.
/// </summary>
public static class RunManifest
{
    /// <summary>The SHA-256 of a file's bytes, lower-case hex: how manifests pin their input files.</summary>
    public static string FileSha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>Writes <paramref name="path"/>, or checks that an existing one has the same configuration.</summary>
    public static void WriteOrCheck(string path, string command, JsonObject config)
    {
        if (File.Exists(path))
        {
            var existing = JsonNode.Parse(File.ReadAllText(path))?["config"] as JsonObject;
            foreach (var key in config.Select(kv => kv.Key).Union(existing?.Select(kv => kv.Key) ?? []))
            {
                string before = existing?[key]?.ToJsonString() ?? "null", now = config[key]?.ToJsonString() ?? "null";
                if (before != now)
                    throw new ResumeMismatchException($"{path}: the output was started with {key}={before}, this run has {key}={now}; use another output or delete the old one");
            }
            return;
        }
        var manifest = new JsonObject
        {
            ["command"] = command,
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
            ["config"] = config.DeepClone(),
            ["versions"] = Versions(),
        };
        AtomicFile.WriteAllText(path, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Versions of the software that produced an output.</summary>
    public static JsonObject Versions() => new()
    {
        ["selfalign"] = typeof(RunManifest).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion,
        ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
        ["dotnet"] = Environment.Version.ToString(),
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
    };
}
