using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.IO;
using static TorchSharp.torch;

namespace SelfAlign.Modeling.Safetensors;

/// <summary>
/// The weights of a model folder: a single <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>. Presents all tensors under one name space.
/// </summary>
public sealed partial class Checkpoint : IDisposable
{
    /// <summary>File name of a single-file checkpoint.</summary>
    public const string SingleFile = "model.safetensors";
    /// <summary>File name of the shard index.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    readonly List<SafetensorsFile> _files;
    readonly Dictionary<string, SafetensorsFile> _owner;

    Checkpoint(List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> owner)
    {
        _files = files;
        _owner = owner;
    }

    /// <summary>Every tensor of the checkpoint, by name.</summary>
    public IReadOnlyDictionary<string, TensorEntry> Tensors =>
        _owner.ToDictionary(kv => kv.Key, kv => kv.Value.Tensors[kv.Key]);

    /// <summary>True when the checkpoint holds a tensor of this name.</summary>
    public bool Contains(string name) => _owner.ContainsKey(name);

    /// <summary>The stored entry of a tensor.</summary>
    public TensorEntry Entry(string name) => Owner(name).Tensors[name];

    /// <summary>Reads a tensor, bit for bit, into a new CPU tensor.</summary>
    public Tensor Read(string name) => Owner(name).Read(name);

    SafetensorsFile Owner(string name) => _owner.TryGetValue(name, out var f) ? f
        : throw new ModelFormatException(_files.Count == 1 ? _files[0].Path : "checkpoint", $"missing tensor '{name}'");

    /// <summary>Opens the checkpoint of a model folder (single file or sharded).</summary>
    public static Checkpoint Open(string folder)
    {
        string index = Path.Combine(folder, IndexFile);
        string single = Path.Combine(folder, SingleFile);
        if (File.Exists(index)) return OpenSharded(folder, index);
        if (File.Exists(single))
        {
            var file = SafetensorsFile.Open(single);
            return new Checkpoint([file], file.Tensors.Keys.ToDictionary(k => k, _ => file));
        }
        throw new ModelFormatException(folder, $"no weights: expected {SingleFile} or {IndexFile}");
    }

    static Checkpoint OpenSharded(string folder, string index)
    {
        JsonObject weightMap;
        try
        {
            weightMap = (JsonNode.Parse(File.ReadAllText(index)) as JsonObject)?["weight_map"] as JsonObject
                ?? throw new ModelFormatException(index, "missing field 'weight_map'");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(index, JsonMessages.WithPosition(e), e);
        }
        var files = new Dictionary<string, SafetensorsFile>();
        var owner = new Dictionary<string, SafetensorsFile>();
        try
        {
            foreach (var (name, node) in weightMap)
            {
                string shard = node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>()
                    : throw new ModelFormatException(index, $"field 'weight_map.{name}': expected a file name");
                if (!files.TryGetValue(shard, out var file))
                {
                    string shardPath = Path.Combine(folder, shard);
                    if (!File.Exists(shardPath))
                        throw new ModelFormatException(index, $"shard '{shard}' (for tensor '{name}') is missing from the folder");
                    files[shard] = file = SafetensorsFile.Open(shardPath);
                }
                if (!file.Tensors.ContainsKey(name))
                    throw new ModelFormatException(file.Path, $"tensor '{name}' listed in {IndexFile} is not in this shard");
                owner[name] = file;
            }
        }
        catch
        {
            foreach (var f in files.Values) f.Dispose();
            throw;
        }
        return new Checkpoint(files.Values.ToList(), owner);
    }

    /// <summary>
    /// Writes tensors as a model folder's checkpoint: one file when they fit in
    /// <paramref name="maxShardBytes"/>, otherwise numbered shards and the index, named as Hugging Face names them.
    /// A checkpoint already in the folder is replaced whole: its index goes first (so an
    /// interrupted write leaves a folder that fails to load rather than one that mixes old and
    /// new weights), and its files that the new checkpoint does not use go last.
    /// </summary>
    public static void Write(string folder, IReadOnlyList<KeyValuePair<string, Tensor>> tensors, long maxShardBytes = 5_000_000_000,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(folder);
        metadata ??= new Dictionary<string, string> { ["format"] = "pt" };
        var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
        long current = 0, total = 0;
        foreach (var kv in tensors)
        {
            long bytes = kv.Value.numel() * SafetensorsDType.Size(kv.Value.dtype);
            if (current > 0 && current + bytes > maxShardBytes)
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(kv);
            current += bytes;
            total += bytes;
        }
        File.Delete(Path.Combine(folder, IndexFile));
        var written = new List<string>();
        if (shards.Count == 1)
        {
            SafetensorsWriter.Write(Path.Combine(folder, SingleFile), shards[0], metadata);
            RemoveOtherWeights(folder, [SingleFile]);
            return;
        }
        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            string name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafetensorsWriter.Write(Path.Combine(folder, name), shards[i], metadata);
            written.Add(name);
            foreach (var kv in shards[i]) weightMap[kv.Key] = name;
        }
        var sorted = new JsonObject(weightMap.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value!.GetValue<string>())));
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = sorted };
        AtomicFile.WriteAllText(Path.Combine(folder, IndexFile), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        RemoveOtherWeights(folder, written);
    }

    /// <summary>Deletes the checkpoint files of <paramref name="folder"/> (single file or shards) other than <paramref name="keep"/>.</summary>
    static void RemoveOtherWeights(string folder, IReadOnlyCollection<string> keep)
    {
        foreach (string file in Directory.EnumerateFiles(folder, "model*.safetensors"))
        {
            string name = Path.GetFileName(file);
            if ((name == SingleFile || ShardName().IsMatch(name)) && !keep.Contains(name)) File.Delete(file);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^model-\d{5}-of-\d{5}\.safetensors$")]
    private static partial System.Text.RegularExpressions.Regex ShardName();

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
