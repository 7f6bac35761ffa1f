# frozen_string_literal: true

# One operation of AWS's own Ruby S3 encryption client (aws-sdk-s3's EncryptionV2::Client, or the
# legacy Encryption::Client for "v1"), so the tests can check our Python S3EC against an
# implementation we did not write. Reads ONE JSON request on stdin, prints ONE JSON answer on
# stdout; on failure prints {"error": class, "message": ...} and exits 1.
#
# Request: op ("put" | "get"), s3_endpoint, kms_endpoint, region, access_key_id,
# secret_access_key, bucket, key, client ("v2" | "v1"), wrapping ({"kind": "kms", "key_id",
# "any_cmk"?} | {"kind": "aes", "key_b64"} | {"kind": "rsa", "private_pem"}), envelope_location
# ("metadata" | "instruction_file"), encryption_context (v2 kms only), security_profile (get:
# "v2" | "v2_and_legacy"), body_b64 or body_file (put), body_file (get: write there), metadata
# (put: extra user metadata).

require 'base64'
require 'json'
require 'openssl'
require 'aws-sdk-kms'
require 'aws-sdk-s3'

# Debian's aws-sdk-kms (1.24) predates Decrypt's KeyId, which aws-sdk-s3's V2 client sends (and
# its param validator then refuses): declare the member as later aws-sdk-kms releases do, so the
# Decrypt request reaches KMS as AWS's current SDK sends it.
decrypt_request = Aws::KMS::ClientApi::DecryptRequest
unless decrypt_request.member?(:key_id)
  key_id = Aws::KMS::ClientApi::KeyIdType
  decrypt_request.add_member(:key_id,
                             Seahorse::Model::Shapes::ShapeRef.new(shape: key_id, location_name: 'KeyId'))
end

def credentials(req)
  Aws::Credentials.new(req.fetch('access_key_id'), req.fetch('secret_access_key'))
end

def s3_client(req)
  Aws::S3::Client.new(endpoint: req.fetch('s3_endpoint'), region: req.fetch('region'),
                      credentials: credentials(req), force_path_style: true)
end

# The encryption clients would build a KMS client for AWS's own endpoint: give them ours.
def kms_client(req)
  Aws::KMS::Client.new(endpoint: req.fetch('kms_endpoint'), region: req.fetch('region'),
                       credentials: credentials(req))
end

# The options that choose the wrapping key, as each client spells them.
def wrapping_options(req, v2)
  wrapping = req.fetch('wrapping')
  case wrapping.fetch('kind')
  when 'kms'
    key_id = wrapping['any_cmk'] ? :kms_allow_decrypt_with_any_cmk : wrapping.fetch('key_id')
    options = { kms_key_id: key_id, kms_client: kms_client(req) }
    v2 ? options.merge(key_wrap_schema: :kms_context) : options
  when 'aes'
    options = { encryption_key: Base64.strict_decode64(wrapping.fetch('key_b64')) }
    v2 ? options.merge(key_wrap_schema: :aes_gcm) : options
  when 'rsa'
    options = { encryption_key: OpenSSL::PKey::RSA.new(wrapping.fetch('private_pem')) }
    v2 ? options.merge(key_wrap_schema: :rsa_oaep_sha1) : options
  else
    raise ArgumentError, "unknown wrapping kind: #{wrapping['kind'].inspect}"
  end
end

def encryption_client(req)
  location = (req['envelope_location'] || 'metadata').to_sym
  options = { client: s3_client(req), envelope_location: location }
  case req['client'] || 'v2'
  when 'v1'
    Aws::S3::Encryption::Client.new(options.merge(wrapping_options(req, false)))
  when 'v2'
    Aws::S3::EncryptionV2::Client.new(
      options.merge(wrapping_options(req, true),
                    content_encryption_schema: :aes_gcm_no_padding,
                    security_profile: (req['security_profile'] || 'v2').to_sym)
    )
  else
    raise ArgumentError, "unknown client: #{req['client'].inspect}"
  end
end

# Only a given context is passed: the clients refuse :kms_encryption_context with raw keys.
def with_context(params, req)
  context = req['encryption_context']
  context.nil? ? params : params.merge(kms_encryption_context: context)
end

def put(req)
  body = if req['body_file'] then File.open(req['body_file'], 'rb')
         else Base64.strict_decode64(req.fetch('body_b64'))
         end
  params = { bucket: req.fetch('bucket'), key: req.fetch('key'), body: body }
  params[:metadata] = req['metadata'] if req['metadata']
  params = with_context(params, req) if (req['client'] || 'v2') == 'v2'
  response = encryption_client(req).put_object(params)
  { 'etag' => response.etag }
ensure
  body.close if body.respond_to?(:close)
end

def get(req)
  params = { bucket: req.fetch('bucket'), key: req.fetch('key') }
  params[:response_target] = req['body_file'] if req['body_file']
  params = with_context(params, req) if (req['client'] || 'v2') == 'v2'
  response = encryption_client(req).get_object(params)
  answer = { 'metadata' => response.metadata, 'content_length' => response.content_length }
  answer['body_b64'] = Base64.strict_encode64(response.body.read) unless req['body_file']
  answer
end

begin
  request = JSON.parse($stdin.read)
  answer =
    case request['op']
    when 'put' then put(request)
    when 'get' then get(request)
    else raise ArgumentError, "unknown op: #{request['op'].inspect}"
    end
  $stdout.write(JSON.generate(answer))
rescue StandardError, NotImplementedError => e
  $stdout.write(JSON.generate('error' => e.class.name, 'message' => e.message))
  exit 1
end
