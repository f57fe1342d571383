#!/usr/bin/env perl
# Drives Switchboard's REST API from its OpenAPI document with Perl's OpenAPI::Client
# (Debian: apt-get install libopenapi-client-perl). Creates a namespace, adds a connection to
# an MCP server, lists its tools and calls one; prints one JSON object per step on stdout.
#
#   SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_API_KEY=sk_... \
#     perl clients/perl/switchboard-example.pl https://mcp.example.com/mcp echo '{"message":"hi"}'
#
# Arguments: the MCP server's URL, then optionally a tool to call and its arguments as JSON.
# SWITCHBOARD_OPENAPI may name a local copy of the document instead of the server's
# /openapi.json.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use Mojo::JSON qw(decode_json encode_json);
use Mojo::File;
use Mojo::UserAgent;

BEGIN {
  # JSON::Validator (under OpenAPI::Client) checks the document against the OpenAPI 3.1
  # meta-schema, which Debian's libjson-validator-perl 5.14 does not ship and would download
  # from spec.openapis.org. We ship it next to this script, in JSON::Validator's cache layout.
  $ENV{JSON_VALIDATOR_CACHE_PATH} = join ':', grep {length} File::Spec->catdir(dirname(__FILE__), 'json-validator-cache'),
    $ENV{JSON_VALIDATOR_CACHE_PATH} // '';
}
use OpenAPI::Client;

my $base_url = $ENV{SWITCHBOARD_URL} // 'http://127.0.0.1:8080';
my $api_key  = $ENV{SWITCHBOARD_API_KEY} or die "Set SWITCHBOARD_API_KEY to an API key or service token\n";
my ($mcp_url, $tool, $arguments) = @ARGV;
die "Usage: $0 <mcpUrl> [tool] [arguments as JSON]\n" unless $mcp_url;
$tool //= 'echo';
$arguments = decode_json($arguments // '{"message":"hello from Perl"}');

# We load the document ourselves and hand OpenAPI::Client the data: given a URL,
# JSON::Validator would save the download into the first JSON_VALIDATOR_CACHE_PATH directory
# and read that stale copy instead of the server's document from then on.
my $document
  = $ENV{SWITCHBOARD_OPENAPI}
  ? decode_json(Mojo::File->new($ENV{SWITCHBOARD_OPENAPI})->slurp)
  : Mojo::UserAgent->new->get("$base_url/openapi.json")->result->json
  // die "$base_url/openapi.json did not answer with a JSON document\n";
# The document's servers[] holds the server's PUBLIC_URL; talk to the URL we were given.
my $client = OpenAPI::Client->new($document, base_url => $base_url);
$client->ua->on(start => sub { $_[1]->req->headers->authorization("Bearer $api_key") });

# Our operationIds contain a hyphen (`namespaces-create`), which a Perl method name cannot:
# call them by name. Each returns a Mojo::Transaction::HTTP; non-2xx answers carry
# {error, message}, and input the document rejects never leaves (400 with {errors}).
sub call {
  my ($operation, $params, @body) = @_;
  my $tx     = $client->call($operation, $params, @body);
  die "$operation: $tx->{error}{message}\n" if !$tx->res->code and $tx->error;
  my $status = 0 + ($tx->res->code // 0);
  my $json   = $tx->res->json;
  if ($status < 200 or $status > 299) {
    print STDERR encode_json({operation => $operation, status => $status, body => $json // $tx->res->body}), "\n";
    exit 1;
  }
  return $json;
}

sub show { my ($step, $value) = @_; print encode_json({step => $step, result => $value}), "\n" }

my $namespace = call('namespaces-create', {});
show(namespace => $namespace);

my $connection = call(
  'connections-create',
  {namespace => $namespace->{name}},
  json => {mcpUrl => $mcp_url, name => 'perl-example', metadata => {client => 'perl'}},
);
show(connection => $connection);

my $listed = do {
  # The metadata filter is a deepObject query parameter (metadata[client]=perl), which
  # OpenAPI::Client 1.07 cannot send: it looks such parameters up under an undefined name (and
  # warns). Silence that warning and add the filter to the request it builds.
  local $SIG{__WARN__} = sub { warn @_ unless $_[0] =~ /uninitialized value \$name/ };
  my $filter = $client->on(after_build_tx => sub { $_[1]->req->url->query->merge('metadata[client]' => 'perl') });
  my $answer = call('connections-list', {namespace => $namespace->{name}, name => 'perl-example'});
  $client->unsubscribe(after_build_tx => $filter);
  $answer;
};
show(connections => [map { $_->{connectionId} } @{$listed->{connections}}]);

my $tools = call('tools-list', {namespace => $namespace->{name}, connectionId => $connection->{connectionId}});
show(tools => [map { $_->{name} } @{$tools->{tools}}]);

my $result = call(
  'tools-invoke',
  {namespace => $namespace->{name}, connectionId => $connection->{connectionId}, toolPath => $tool},
  json => $arguments,
);
show(call => $result);

# A missing connection answers 404 with the API's error shape.
my $missing = $client->call('connections-get', {namespace => $namespace->{name}, connectionId => 'no-such-connection'});
show(missing => {status => 0 + $missing->res->code, body => $missing->res->json});
