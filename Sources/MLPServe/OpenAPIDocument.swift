// Generated from docs/openapi.yaml by scripts/generate_openapi_source.sh; do not edit.

/// The OpenAPI document of `mlpc serve`, as JSON.
public enum OpenAPIDocument {
  public static let json = ##"""
    {
     "openapi": "3.0.3",
     "info": {
      "title": "mlpc serve",
      "version": "1",
      "description": "Trained mlpc models behind HTTP: the Open Inference Protocol (KServe v2), records by column name on v1, MLflow's scoring format on /invocations, health, Prometheus metrics. Every error is a JSON object naming what is wrong and, when one is to blame, the field (a JSON path such as instances[2].sepal_length). When the server is started with --token-file, every route but the health routes and this document needs `Authorization: Bearer <token>`. Served by `mlpc serve`; see docs/serve.md."
     },
     "servers": [
      {
       "url": "http://127.0.0.1:8080"
      }
     ],
     "paths": {
      "/v2/health/live": {
       "get": {
        "operationId": "serverLive",
        "summary": "The server is up.",
        "responses": {
         "200": {
          "description": "Live.",
          "content": {
           "application/json": {
            "schema": {
             "type": "object",
             "required": [
              "live"
             ],
             "properties": {
              "live": {
               "type": "boolean"
              }
             }
            }
           }
          }
         }
        }
       }
      },
      "/v2/health/ready": {
       "get": {
        "operationId": "serverReady",
        "summary": "Every model is loaded and can answer.",
        "responses": {
         "200": {
          "description": "Ready.",
          "content": {
           "application/json": {
            "schema": {
             "type": "object",
             "required": [
              "ready"
             ],
             "properties": {
              "ready": {
               "type": "boolean"
              }
             }
            }
           }
          }
         }
        }
       }
      },
      "/v2": {
       "get": {
        "operationId": "serverMetadata",
        "summary": "The server's name, version and models.",
        "responses": {
         "200": {
          "description": "Server metadata.",
          "content": {
           "application/json": {
            "schema": {
             "type": "object",
             "required": [
              "name",
              "version",
              "extensions",
              "models"
             ],
             "properties": {
              "name": {
               "type": "string"
              },
              "version": {
               "type": "string"
              },
              "extensions": {
               "type": "array",
               "items": {
                "type": "string"
               }
              },
              "models": {
               "type": "array",
               "items": {
                "type": "string"
               }
              }
             }
            }
           }
          }
         },
         "401": {
          "$ref": "#/components/responses/Unauthorized"
         }
        }
       }
      },
      "/v2/models/{name}": {
       "get": {
        "operationId": "modelMetadata",
        "summary": "A model's inputs and outputs, with datatype and shape (-1 for any number of rows).",
        "parameters": [
         {
          "$ref": "#/components/parameters/ModelName"
         }
        ],
        "responses": {
         "200": {
          "description": "Model metadata.",
          "content": {
           "application/json": {
            "schema": {
             "type": "object",
             "required": [
              "name",
              "versions",
              "platform",
              "inputs",
              "outputs"
             ],
             "properties": {
              "name": {
               "type": "string"
              },
              "versions": {
               "type": "array",
               "items": {
                "type": "string"
               }
              },
              "platform": {
               "type": "string"
              },
              "inputs": {
               "type": "array",
               "items": {
                "$ref": "#/components/schemas/TensorMetadata"
               }
              },
              "outputs": {
               "type": "array",
               "items": {
                "$ref": "#/components/schemas/TensorMetadata"
               }
              }
             }
            }
           }
          }
         },
         "401": {
          "$ref": "#/components/responses/Unauthorized"
         },
         "404": {
          "$ref": "#/components/responses/NotFound"
         }
        }
       }
      },
      "/v2/models/{name}/ready": {
       "get": {
        "operationId": "modelReady",
        "summary": "Whether a model can answer.",
        "parameters": [
         {
          "$ref": "#/components/parameters/ModelName"
         }
        ],
        "responses": {
         "200": {
          "description": "Ready.",
          "content": {
           "application/json": {
            "schema": {
             "type": "object",
             "required": [
              "name",
              "ready"
             ],
             "properties": {
              "name": {
               "type": "string"
              },
              "ready": {
               "type": "boolean"
              }
             }
            }
           }
          }
         },
         "401": {
          "$ref": "#/components/responses/Unauthorized"
         },
         "404": {
          "$ref": "#/components/responses/NotFound"
         }
        }
       }
      },
      "/v2/models/{name}/infer": {
       "post": {
        "operationId": "modelInfer",
        "summary": "Tensors in, tensors out.",
        "description": "A model of numeric features takes one tensor `input` of shape [rows, features]; any model takes one tensor per feature column, named by the column, of shape [rows] or [rows, 1] (BYTES for category names; null for a missing value when the model has transforms for it). Outputs: `predicted` (BYTES) and `probabilities` (FP32 [rows, classes]) for a classifier, `predictions` (FP32 [rows, targets]) for regression.",
        "parameters": [
         {
          "$ref": "#/components/parameters/ModelName"
         }
        ],
        "requestBody": {
         "required": true,
         "content": {
          "application/json": {
           "schema": {
            "$ref": "#/components/schemas/InferRequest"
           }
          }
         }
        },
        "responses": {
         "200": {
          "description": "The outputs asked for (all when none are named).",
          "content": {
           "application/json": {
            "schema": {
             "$ref": "#/components/schemas/InferResponse"
            }
           }
          }
         },
         "400": {
          "$ref": "#/components/responses/BadRequest"
         },
         "401": {
          "$ref": "#/components/responses/Unauthorized"
         },
         "404": {
          "$ref": "#/components/responses/NotFound"
         },
         "413": {
          "$ref": "#/components/responses/TooLarge"
         },
         "422": {
          "$ref": "#/components/responses/NotFinite"
         }
        }
       }
      },
      "/v1/models/{name}:predict": {
       "post": {
        "operationId": "modelPredict",
        "summary": "Rows by column name (or arrays in the model's column order) in, predictions out.",
        "description": "A classifier answers each row's class name, or with `probabilities: true` an object with the class and the probability of every class; a regression model answers the target value (an object of targets when there are several), in the targets' own units.",
        "parameters": [
         {
          "$ref": "#/components/parameters/ModelName"
         }
        ],
        "requestBody": {
         "required": true,
         "content": {
          "application/json": {
           "schema": {
            "type": "object",
            "additionalProperties": false,
            "required": [
             "instances"
            ],
            "properties": {
             "instances": {
              "$ref": "#/components/schemas/Rows"
             },
             "probabilities": {
              "type": "boolean"
             }
            }
           }
          }
         }
        },
        "responses": {
         "200": {
          "$ref": "#/components/responses/Predictions"
         },
         "400": {
          "$ref": "#/components/responses/BadRequest"
         },
         "401": {
          "$ref": "#/components/responses/Unauthorized"
         },
         "404": {
          "$ref": "#/components/responses/NotFound"
         },
         "413": {
          "$ref": "#/components/responses/TooLarge"
         },
         "422": {
          "$ref": "#/components/responses/NotFinite"
         }
        }
       }
      },
      "/invocations": {
       "post": {
        "operationId": "invocations",
        "summary": "MLflow's scoring format (one of dataframe_split, dataframe_records, instances, inputs).",
        "parameters": [
         {
          "name": "model",
          "in": "query",
          "required": false,
          "description": "The model, when several are served.",
          "schema": {
           "type": "string"
          }
         }
        ],
        "requestBody": {
         "required": true,
         "content": {
          "application/json": {
           "schema": {
            "type": "object",
            "additionalProperties": false,
            "minProperties": 1,
            "maxProperties": 2,
            "properties": {
             "dataframe_split": {
              "type": "object",
              "required": [
               "columns",
               "data"
              ],
              "properties": {
               "columns": {
                "type": "array",
                "items": {
                 "type": "string"
                }
               },
               "data": {
                "type": "array",
                "minItems": 1,
                "items": {
                 "type": "array",
                 "items": {
                  "$ref": "#/components/schemas/Cell"
                 }
                }
               },
               "index": {
                "type": "array"
               }
              }
             },
             "dataframe_records": {
              "type": "array",
              "minItems": 1,
              "items": {
               "type": "object",
               "additionalProperties": {
                "$ref": "#/components/schemas/Cell"
               }
              }
             },
             "instances": {
              "$ref": "#/components/schemas/Rows"
             },
             "inputs": {
              "oneOf": [
               {
                "$ref": "#/components/schemas/Rows"
               },
               {
                "type": "object",
                "additionalProperties": {
                 "type": "array",
                 "items": {
                  "$ref": "#/components/schemas/Cell"
                 }
                }
               }
              ]
             },
             "params": {
              "type": "object"
             }
            }
           }
          }
         }
        },
        "responses": {
         "200": {
          "$ref": "#/components/responses/Predictions"
         },
         "400": {
          "$ref": "#/components/responses/BadRequest"
         },
         "401": {
          "$ref": "#/components/responses/Unauthorized"
         },
         "404": {
          "$ref": "#/components/responses/NotFound"
         },
         "413": {
          "$ref": "#/components/responses/TooLarge"
         },
         "415": {
          "$ref": "#/components/responses/UnsupportedMediaType"
         },
         "422": {
          "$ref": "#/components/responses/NotFinite"
         }
        }
       }
      },
      "/ping": {
       "get": {
        "operationId": "ping",
        "summary": "MLflow's health check.",
        "responses": {
         "200": {
          "$ref": "#/components/responses/Status"
         }
        }
       }
      },
      "/health": {
       "get": {
        "operationId": "health",
        "summary": "MLflow's health check.",
        "responses": {
         "200": {
          "$ref": "#/components/responses/Status"
         }
        }
       }
      },
      "/openapi.json": {
       "get": {
        "operationId": "openAPI",
        "summary": "This document.",
        "responses": {
         "200": {
          "description": "The OpenAPI document.",
          "content": {
           "application/json": {
            "schema": {
             "type": "object"
            }
           }
          }
         }
        }
       }
      },
      "/metrics": {
       "get": {
        "operationId": "metrics",
        "summary": "Prometheus text format.",
        "description": "mlpc_http_requests_total{route,status}, mlpc_http_request_duration_seconds{route}, mlpc_batch_rows{model} (rows per forward pass), mlpc_rows_predicted_total{model}, mlpc_models_loaded.",
        "responses": {
         "200": {
          "description": "The metrics.",
          "content": {
           "text/plain": {
            "schema": {
             "type": "string"
            }
           }
          }
         },
         "401": {
          "$ref": "#/components/responses/Unauthorized"
         }
        }
       }
      }
     },
     "components": {
      "parameters": {
       "ModelName": {
        "name": "name",
        "in": "path",
        "required": true,
        "description": "The model's name (its spec's `name`, or NAME in NAME=PATH).",
        "schema": {
         "type": "string"
        }
       }
      },
      "schemas": {
       "Error": {
        "type": "object",
        "required": [
         "error"
        ],
        "properties": {
         "error": {
          "type": "string"
         },
         "field": {
          "type": "string"
         }
        }
       },
       "Cell": {
        "nullable": true,
        "oneOf": [
         {
          "type": "number"
         },
         {
          "type": "string"
         }
        ]
       },
       "Rows": {
        "type": "array",
        "minItems": 1,
        "items": {
         "oneOf": [
          {
           "type": "object",
           "additionalProperties": {
            "$ref": "#/components/schemas/Cell"
           }
          },
          {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Cell"
           }
          }
         ]
        }
       },
       "TensorMetadata": {
        "type": "object",
        "required": [
         "name",
         "datatype",
         "shape"
        ],
        "properties": {
         "name": {
          "type": "string"
         },
         "datatype": {
          "type": "string"
         },
         "shape": {
          "type": "array",
          "items": {
           "type": "integer"
          }
         }
        }
       },
       "InferRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": [
         "inputs"
        ],
        "properties": {
         "id": {
          "type": "string"
         },
         "inputs": {
          "type": "array",
          "minItems": 1,
          "items": {
           "type": "object",
           "required": [
            "name",
            "shape",
            "datatype",
            "data"
           ],
           "properties": {
            "name": {
             "type": "string"
            },
            "shape": {
             "type": "array",
             "items": {
              "type": "integer",
              "minimum": 0
             }
            },
            "datatype": {
             "type": "string",
             "enum": [
              "BOOL",
              "UINT8",
              "UINT16",
              "UINT32",
              "UINT64",
              "INT8",
              "INT16",
              "INT32",
              "INT64",
              "FP16",
              "FP32",
              "FP64",
              "BYTES"
             ]
            },
            "data": {
             "type": "array"
            },
            "parameters": {
             "type": "object"
            }
           }
          }
         },
         "outputs": {
          "type": "array",
          "items": {
           "type": "object",
           "required": [
            "name"
           ],
           "properties": {
            "name": {
             "type": "string"
            },
            "parameters": {
             "type": "object"
            }
           }
          }
         },
         "parameters": {
          "type": "object"
         }
        }
       },
       "InferResponse": {
        "type": "object",
        "required": [
         "model_name",
         "outputs"
        ],
        "properties": {
         "model_name": {
          "type": "string"
         },
         "model_version": {
          "type": "string"
         },
         "id": {
          "type": "string"
         },
         "outputs": {
          "type": "array",
          "items": {
           "type": "object",
           "required": [
            "name",
            "datatype",
            "shape",
            "data"
           ],
           "properties": {
            "name": {
             "type": "string"
            },
            "datatype": {
             "type": "string"
            },
            "shape": {
             "type": "array",
             "items": {
              "type": "integer"
             }
            },
            "data": {
             "type": "array"
            }
           }
          }
         }
        }
       }
      },
      "responses": {
       "Predictions": {
        "description": "One prediction per row, in order.",
        "content": {
         "application/json": {
          "schema": {
           "type": "object",
           "required": [
            "predictions"
           ],
           "properties": {
            "predictions": {
             "type": "array",
             "items": {
              "oneOf": [
               {
                "type": "string"
               },
               {
                "type": "number"
               },
               {
                "type": "object"
               }
              ]
             }
            }
           }
          }
         }
        }
       },
       "Status": {
        "description": "Up.",
        "content": {
         "application/json": {
          "schema": {
           "type": "object",
           "required": [
            "status"
           ],
           "properties": {
            "status": {
             "type": "string"
            }
           }
          }
         }
        }
       },
       "BadRequest": {
        "description": "The body is not JSON, or a member, row, feature or tensor is wrong (named in `field`).",
        "content": {
         "application/json": {
          "schema": {
           "$ref": "#/components/schemas/Error"
          }
         }
        }
       },
       "Unauthorized": {
        "description": "The server needs `Authorization: Bearer <token>` and got none or another.",
        "content": {
         "application/json": {
          "schema": {
           "$ref": "#/components/schemas/Error"
          }
         }
        }
       },
       "NotFound": {
        "description": "No model of that name.",
        "content": {
         "application/json": {
          "schema": {
           "$ref": "#/components/schemas/Error"
          }
         }
        }
       },
       "TooLarge": {
        "description": "The body is over --max-body bytes, or holds more rows than --max-rows.",
        "content": {
         "application/json": {
          "schema": {
           "$ref": "#/components/schemas/Error"
          }
         }
        }
       },
       "UnsupportedMediaType": {
        "description": "The body is declared as something other than JSON.",
        "content": {
         "application/json": {
          "schema": {
           "$ref": "#/components/schemas/Error"
          }
         }
        }
       },
       "NotFinite": {
        "description": "The model's output is not finite for the values given (extreme inputs).",
        "content": {
         "application/json": {
          "schema": {
           "$ref": "#/components/schemas/Error"
          }
         }
        }
       }
      }
     }
    }
    """##
}
