using System.CommandLine;
using System.Text.Json;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Text;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign tokenize</c>: token ids of a text, or of every row of a JSONL file.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model("A model folder, or a folder holding only the tokenizer files.");
        var text = new Argument<string?>("text") { Description = "Text to encode.", Arity = ArgumentArity.ZeroOrOne };
        var jsonl = new Option<FileInfo?>("--jsonl") { Description = "Encode the 'text' field of every row of this JSONL file." };
        var output = new Option<FileInfo?>("--out") { Description = "With --jsonl: write the rows here instead of standard output." };
        var addSpecial = new Option<bool>("--add-special-tokens") { Description = "Add what the tokenizer puts around a sequence (e.g. bos)." };
        var splitSpecial = new Option<bool>("--split-special-tokens") { Description = "Encode special tokens written in the text as plain text." };
        var command = new Command("tokenize", "Print the token ids of a text, or write {text, ids} rows for a JSONL file.")
        {
            model, text, jsonl, output, addSpecial, splitSpecial,
        };
        command.SetAction(parse =>
        {
            var tokenizer = Tokenizer.Load(parse.GetRequiredValue(model).FullName);
            bool add = parse.GetValue(addSpecial), allow = !parse.GetValue(splitSpecial);
            if (parse.GetValue(jsonl) is FileInfo file)
            {
                if (parse.GetValue(text) is not null) throw new UsageException("give either TEXT or --jsonl, not both");
                EncodeFile(tokenizer, file.FullName, parse.GetValue(output)?.FullName, add, allow);
            }
            else
            {
                string input = parse.GetValue(text) ?? throw new UsageException("give TEXT or --jsonl FILE");
                Console.Out.WriteLine(JsonSerializer.Serialize(tokenizer.Encode(input, add, allow)));
            }
            return 0;
        });
        return command;
    }

    static void EncodeFile(Tokenizer tokenizer, string file, string? output, bool add, bool allow)
    {
        var rows = Jsonl.Read(file).Select(r => r.Row.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
            ? new { text = t.GetString()!, ids = tokenizer.Encode(t.GetString()!, add, allow) }
            : throw new DataFormatException(file, r.Line, "missing string field 'text'"));
        var lines = rows.Select(r => JsonSerializer.Serialize(r, JsonlAppender.RowOptions));
        if (output is null)
        {
            foreach (var line in lines) Console.Out.WriteLine(line);
            return;
        }
        // Encoding is fast and pure: the whole file is rewritten atomically rather than resumed.
        var all = lines.ToList();
        AtomicFile.WriteAllText(output, string.Concat(all.Select(l => l + "\n")));
        Console.Error.WriteLine($"{all.Count} rows -> {output}");
    }
}
