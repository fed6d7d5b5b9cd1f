{{/* Names, labels and shared snippets. */}}

{{- define "scim.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scim.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "scim.directory.fullname" -}}
{{- printf "%s-directory" (include "scim.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scim.gateway.fullname" -}}
{{- printf "%s-gateway" (include "scim.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scim.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "scim.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels; call with (dict "ctx" . "component" "directory"). */}}
{{- define "scim.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scim.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "scim.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Name of the Secret with database-url and directory-credential. */}}
{{- define "scim.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else if .Values.secrets.create -}}
{{- include "scim.fullname" . -}}
{{- else -}}
{{- fail "set secrets.existingSecret to the name of a Secret with keys database-url, directory-credential and gateway-credential, or set secrets.create=true with secrets.databaseUrl, secrets.directoryCredential and secrets.gatewayCredential" -}}
{{- end -}}
{{- end -}}

{{- define "scim.env.databaseUrl" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "scim.secretName" . }}
      key: {{ .Values.secrets.databaseUrlKey }}
{{- end -}}

{{- define "scim.env.directoryCredential" -}}
- name: DIRECTORY_CREDENTIAL
  valueFrom:
    secretKeyRef:
      name: {{ include "scim.secretName" . }}
      key: {{ .Values.secrets.directoryCredentialKey }}
{{- end -}}

{{/* The gateway's own credential: the gateway sends it, the directory accepts it. */}}
{{- define "scim.env.gatewayCredential" -}}
- name: {{ .envName }}
  valueFrom:
    secretKeyRef:
      name: {{ include "scim.secretName" .root }}
      key: {{ .root.Values.secrets.gatewayCredentialKey }}
{{- end -}}

{{- define "scim.env.common" -}}
- name: RUST_LOG
  value: {{ .Values.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
{{- with .Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Pod annotation that rolls the pods when a chart-managed Secret changes ("" if none). */}}
{{- define "scim.secretChecksum" -}}
{{- if and .Values.secrets.create (not .Values.secrets.existingSecret) -}}
checksum/secret: {{ printf "%s|%s|%s" .Values.secrets.databaseUrl .Values.secrets.directoryCredential .Values.secrets.gatewayCredential | sha256sum }}
{{- end -}}
{{- end -}}


{{/* Replicas of a component: the HPA's minimum when autoscaling, else `replicas`. */}}
{{- define "scim.replicas" -}}
{{- if .autoscaling.enabled -}}
{{- .autoscaling.minReplicas -}}
{{- else -}}
{{- .replicas -}}
{{- end -}}
{{- end -}}

{{/* The directory's gRPC URL as the gateway and scimctl dial it (https with directory.tls). */}}
{{- define "scim.directory.url" -}}
{{- printf "%s://%s:%v" (ternary "https" "http" (not (empty .Values.directory.tls.secretName))) (include "scim.directory.fullname" .) .Values.directory.port -}}
{{- end -}}

{{/* Where the directory's TLS material is mounted (every pod that uses it). */}}
{{- define "scim.directoryTls.dir" -}}/etc/scim/directory-tls{{- end -}}
{{- define "scim.directoryClientCa.dir" -}}/etc/scim/directory-client-ca{{- end -}}
{{- define "scim.directoryClient.dir" -}}/etc/scim/directory-client{{- end -}}

{{/* Env of a directory client (gateway, scimctl): the CA to trust and, with mutual TLS,
     the client certificate. Call with (dict "root" . "clientSecret" NAME). */}}
{{- define "scim.env.directoryTlsClient" -}}
{{- $tls := .root.Values.directory.tls -}}
{{- if $tls.secretName }}
- name: DIRECTORY_TLS_CA_FILE
  value: {{ include "scim.directoryTls.dir" . }}/ca.crt
{{- if $tls.clientAuth }}
- name: DIRECTORY_TLS_CLIENT_CERT_FILE
  value: {{ include "scim.directoryClient.dir" . }}/tls.crt
- name: DIRECTORY_TLS_CLIENT_KEY_FILE
  value: {{ include "scim.directoryClient.dir" . }}/tls.key
{{- end }}
{{- end }}
{{- end -}}
