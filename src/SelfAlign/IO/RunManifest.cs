using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;

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

    /// <summary>
    /// Adds the chat-template variables a stage rendered with to its configuration, only when there
    /// are any, so the manifests of runs without them stay as they were.
    /// </summary>
    public static JsonObject WithTemplateArgs(this JsonObject config, IReadOnlyDictionary<string, JsonElement>? args)
    {
        if (args is { Count: > 0 }) config["template_args"] = JsonSerializer.SerializeToNode(args);
        return config;
    }

    /// <summary>Adds the inference servers a stage ran on, only for a run that used them, so local runs' manifests stay as they were.</summary>
    public static JsonObject WithEngine(this JsonObject config, JsonNode? engine)
    {
        if (engine is not null) config["engine"] = engine;
        return config;
    }

    /// <summary>Writes <paramref name="path"/>, or checks that an existing one has the same configuration.</summary>
    public static void WriteOrCheck(string path, string command, JsonObject config)
    {
        if (Read(path) is JsonObject existing)
        {
            var before = existing["config"] as JsonObject;
            if (Differences(before, config).FirstOrDefault() is (string key, string was, string now))
                throw new ResumeMismatchException($"{path}: the output was started with {key}={was}, this run has {key}={now}; " +
                    "run with the same settings to resume, choose another output, or pass --overwrite to start over");
            return;
        }
        Write(path, command, config);
    }

    /// <summary>Writes (or replaces) the manifest of an output.</summary>
    public static void Write(string path, string command, JsonObject config)
    {
        var manifest = new JsonObject
        {
            ["command"] = command,
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
            ["config"] = config.DeepClone(),
            ["versions"] = Versions(),
        };
        AtomicFile.WriteAllText(path, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The manifest at <paramref name="path"/>, or null when there is none; a damaged one fails with file:line.</summary>
    public static JsonObject? Read(string path)
    {
        if (!File.Exists(path)) return null;
        JsonElement root;
        try
        {
            root = JsonRecords.ReadDocument(path);
        }
        catch (DataFormatException e)
        {
            throw new DataFormatException(path, e.Line, $"damaged manifest ({e.Reason}); it records how the output was made: repair it, " +
                "or pass --overwrite to start the output over");
        }
        return root.ValueKind == JsonValueKind.Object && JsonObject.Create(root) is JsonObject o && o["config"] is JsonObject
            ? o : throw new DataFormatException(path, 1, "not a SelfAlign manifest (no 'config' object); move it away or delete it");
    }

    /// <summary>The keys (dotted paths) whose values differ between two configurations, with both values as JSON.</summary>
    public static IEnumerable<(string Key, string Was, string Now)> Differences(JsonObject? before, JsonObject now, string prefix = "")
    {
        foreach (var key in now.Select(kv => kv.Key).Union(before?.Select(kv => kv.Key) ?? []))
        {
            JsonNode? a = before?[key], b = now[key];
            if (a is JsonObject ao && b is JsonObject bo)
            {
                foreach (var d in Differences(ao, bo, $"{prefix}{key}.")) yield return d;
                continue;
            }
            string was = a?.ToJsonString() ?? "null", will = b?.ToJsonString() ?? "null";
            if (was != will) yield return ($"{prefix}{key}", was, will);
        }
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
