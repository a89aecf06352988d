using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace SelfAlign.Tests;

/// <summary>
/// The method calls compiled into an assembly, read from its IL: which method calls which, each
/// named <c>Namespace.Type::Name(parameter types)</c> the same way in every assembly, so a call
/// site in one assembly finds the callee's body in another.
/// </summary>
internal sealed class IlCalls : IDisposable
{
    readonly PEReader _pe;
    readonly MetadataReader _md;
    readonly Dictionary<string, MethodDefinitionHandle> _definitions = [];

    public IlCalls(string path)
    {
        _pe = new PEReader(File.OpenRead(path));
        _md = _pe.GetMetadataReader();
        foreach (var handle in _md.MethodDefinitions) _definitions.TryAdd(Name(handle), handle);
    }

    /// <summary>The assembly's simple name.</summary>
    public string AssemblyName => _md.GetString(_md.GetAssemblyDefinition().Name);

    /// <summary>Every method defined in the assembly, by name.</summary>
    public IEnumerable<string> Methods => _definitions.Keys;

    /// <summary>Whether the assembly defines <paramref name="method"/>.</summary>
    public bool Defines(string method) => _definitions.ContainsKey(method);

    /// <summary>The methods <paramref name="method"/> calls (call, callvirt, newobj, ldftn), with the assembly that defines each.</summary>
    public IEnumerable<(string Callee, string Assembly)> CallsOf(string method)
    {
        var definition = _md.GetMethodDefinition(_definitions[method]);
        if (definition.RelativeVirtualAddress == 0) yield break;
        var il = _pe.GetMethodBody(definition.RelativeVirtualAddress).GetILReader();
        while (il.RemainingBytes > 0)
        {
            var op = ReadOpCode(ref il);
            if (op.OperandType == OperandType.InlineMethod)
            {
                var handle = MetadataTokens.EntityHandle(il.ReadInt32());
                if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj || op == OpCodes.Ldftn || op == OpCodes.Ldvirtftn)
                    yield return Callee(handle);
                continue;
            }
            Skip(ref il, op.OperandType);
        }
    }

    (string, string) Callee(EntityHandle handle) => handle.Kind switch
    {
        HandleKind.MethodDefinition => (Name((MethodDefinitionHandle)handle), AssemblyName),
        HandleKind.MemberReference => Reference((MemberReferenceHandle)handle),
        HandleKind.MethodSpecification => Callee(_md.GetMethodSpecification((MethodSpecificationHandle)handle).Method),
        _ => ("?", "?"),
    };

    (string, string) Reference(MemberReferenceHandle handle)
    {
        var member = _md.GetMemberReference(handle);
        var signature = member.DecodeMethodSignature(SignatureNames.Instance, null);
        var (type, assembly) = member.Parent.Kind switch
        {
            HandleKind.TypeReference => TypeReference((TypeReferenceHandle)member.Parent),
            HandleKind.TypeDefinition => (TypeName((TypeDefinitionHandle)member.Parent), AssemblyName),
            HandleKind.TypeSpecification => ("generic", "?"),
            _ => ("?", "?"),
        };
        return ($"{type}::{_md.GetString(member.Name)}({string.Join(",", signature.ParameterTypes)})", assembly);
    }

    (string Name, string Assembly) TypeReference(TypeReferenceHandle handle)
    {
        var type = _md.GetTypeReference(handle);
        string name = _md.GetString(type.Name);
        return type.ResolutionScope.Kind switch
        {
            HandleKind.TypeReference => TypeReference((TypeReferenceHandle)type.ResolutionScope) is var (outer, asm) ? ($"{outer}+{name}", asm) : default,
            HandleKind.AssemblyReference => (Qualified(_md.GetString(type.Namespace), name),
                _md.GetString(_md.GetAssemblyReference((AssemblyReferenceHandle)type.ResolutionScope).Name)),
            _ => (Qualified(_md.GetString(type.Namespace), name), AssemblyName),
        };
    }

    string Name(MethodDefinitionHandle handle)
    {
        var method = _md.GetMethodDefinition(handle);
        var signature = method.DecodeSignature(SignatureNames.Instance, null);
        return $"{TypeName(method.GetDeclaringType())}::{_md.GetString(method.Name)}({string.Join(",", signature.ParameterTypes)})";
    }

    string TypeName(TypeDefinitionHandle handle)
    {
        var type = _md.GetTypeDefinition(handle);
        string name = _md.GetString(type.Name);
        var outer = type.GetDeclaringType();
        return outer.IsNil ? Qualified(_md.GetString(type.Namespace), name) : $"{TypeName(outer)}+{name}";
    }

    static string Qualified(string ns, string name) => ns.Length == 0 ? name : $"{ns}.{name}";

    static readonly Dictionary<ushort, OpCode> OpCodeTable = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => (ushort)o.Value);

    static OpCode ReadOpCode(ref BlobReader il)
    {
        byte first = il.ReadByte();
        return OpCodeTable[first == 0xFE ? (ushort)(0xFE00 | il.ReadByte()) : first];
    }

    static void Skip(ref BlobReader il, OperandType operand)
    {
        int size = operand switch
        {
            OperandType.InlineNone => 0,
            OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
            OperandType.InlineVar => 2,
            OperandType.InlineI8 or OperandType.InlineR => 8,
            OperandType.InlineSwitch => 4 * il.ReadInt32(),
            _ => 4,
        };
        il.Offset += size;
    }

    public void Dispose() => _pe.Dispose();

    /// <summary>Type names of signatures, spelled the same for definitions and references.</summary>
    sealed class SignatureNames : ISignatureTypeProvider<string, object?>
    {
        public static readonly SignatureNames Instance = new();
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();
        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
        {
            var type = reader.GetTypeDefinition(handle);
            var outer = type.GetDeclaringType();
            string name = reader.GetString(type.Name);
            return outer.IsNil ? Qualified(reader.GetString(type.Namespace), name) : $"{GetTypeFromDefinition(reader, outer, 0)}+{name}";
        }
        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
        {
            var type = reader.GetTypeReference(handle);
            string name = reader.GetString(type.Name);
            return type.ResolutionScope.Kind == HandleKind.TypeReference
                ? $"{GetTypeFromReference(reader, (TypeReferenceHandle)type.ResolutionScope, 0)}+{name}"
                : Qualified(reader.GetString(type.Namespace), name);
        }
        public string GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
        public string GetSZArrayType(string elementType) => elementType + "[]";
        public string GetArrayType(string elementType, ArrayShape shape) => $"{elementType}[{new string(',', shape.Rank - 1)}]";
        public string GetByReferenceType(string elementType) => elementType + "&";
        public string GetPointerType(string elementType) => elementType + "*";
        public string GetPinnedType(string elementType) => elementType;
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => $"{genericType}<{string.Join(",", typeArguments)}>";
        public string GetGenericTypeParameter(object? context, int index) => $"!{index}";
        public string GetGenericMethodParameter(object? context, int index) => $"!!{index}";
        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";
    }
}
